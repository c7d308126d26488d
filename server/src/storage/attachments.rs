//! Attachment files under `attachment_path`, stored once per content hash
//! (single-instance storage): `<root>/<h0h1>/<h2h3>/<sha256 hex>`.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Result, StorageError};

pub struct AttachmentDir {
    root: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// True for a 64-character lowercase hex string, so a hash can never name a
/// path outside the attachment directory.
fn valid_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl AttachmentDir {
    pub fn new(root: &Path) -> Result<AttachmentDir> {
        std::fs::create_dir_all(root).map_err(io_err(root))?;
        Ok(AttachmentDir {
            root: root.to_owned(),
        })
    }

    fn path_of(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[0..2]).join(&hash[2..4]).join(hash)
    }

    /// Store `data` unless a file with the same content exists; returns its hash.
    pub fn put(&self, data: &[u8]) -> Result<String> {
        let hash = hex::encode(Sha256::digest(data));
        let path = self.path_of(&hash);
        if path.exists() {
            return Ok(hash);
        }
        let dir = path.parent().unwrap_or(&self.root).to_owned();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        // Write to a temporary name first so a crash never leaves a short file
        // under the final (content-derived) name.
        let mut tmp = tempfile_in(&dir)?;
        tmp.1.write_all(data).map_err(io_err(&tmp.0))?;
        tmp.1.sync_all().map_err(io_err(&tmp.0))?;
        std::fs::rename(&tmp.0, &path).map_err(io_err(&path))?;
        Ok(hash)
    }

    pub fn get(&self, hash: &str) -> Result<Vec<u8>> {
        if !valid_hash(hash) {
            return Err(StorageError::NotFound);
        }
        let path = self.path_of(hash);
        match std::fs::read(&path) {
            Ok(v) => Ok(v),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StorageError::NotFound),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    pub fn remove(&self, hash: &str) -> Result<()> {
        if !valid_hash(hash) {
            return Err(StorageError::NotFound);
        }
        let path = self.path_of(hash);
        std::fs::remove_file(&path).map_err(io_err(&path))
    }
}

fn tempfile_in(dir: &Path) -> Result<(PathBuf, std::fs::File)> {
    for _ in 0..16 {
        let name = format!(".tmp-{:016x}", rand::random::<u64>());
        let p = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
        {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(&p)(e)),
        }
    }
    Err(StorageError::Collision)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_and_roundtrip() {
        let d = tempfile::tempdir().unwrap();
        let a = AttachmentDir::new(d.path()).unwrap();
        let h1 = a.put(b"hello").unwrap();
        let h2 = a.put(b"hello").unwrap();
        assert_eq!(h1, h2);
        assert_eq!(a.get(&h1).unwrap(), b"hello");
        assert!(matches!(
            a.get("../etc/passwd"),
            Err(StorageError::NotFound)
        ));
        a.remove(&h1).unwrap();
        assert!(matches!(a.get(&h1), Err(StorageError::NotFound)));
    }
}
