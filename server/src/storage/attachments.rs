//! Attachment files under `attachment_path`, stored once per content hash
//! (single-instance storage): `<root>/<h0h1>/<h2h3>/<sha256 hex>`.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Result, StorageError};

/// The attachment directory server.cfg asks for: `attachment_path` unless
/// `attachment_storage = database` (or the path is empty), for
/// [`SqliteStorage::open_with_attachments`](super::sqlite::SqliteStorage::open_with_attachments).
pub fn configured_path(cfg: &kc_configs::Config) -> Option<PathBuf> {
    if cfg.str("attachment_storage") == "database" {
        return None;
    }
    cfg.path("attachment_path")
}

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

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Store `data` unless a file with the same content exists; returns its
    /// hash. The file (and its directory entry) is on disk when this returns,
    /// so a database commit referencing it may follow.
    pub fn put(&self, data: &[u8]) -> Result<String> {
        let hash = hex::encode(Sha256::digest(data));
        let path = self.path_of(&hash);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == data.len() as u64) {
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
        // The rename is durable only once the directory is synced.
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&dir))?;
        Ok(hash)
    }

    /// Open an attachment file for reading.
    pub fn open(&self, hash: &str) -> Result<std::fs::File> {
        if !valid_hash(hash) {
            return Err(StorageError::NotFound);
        }
        let path = self.path_of(hash);
        match std::fs::File::open(&path) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StorageError::Io {
                path: path.display().to_string(),
                source: e,
            }),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Remove leftover temporary files and every attachment file whose hash
    /// `keep` rejects (files written by an append that never committed).
    /// Returns how many files were removed.
    pub fn sweep(&self, keep: impl Fn(&str) -> bool) -> Result<usize> {
        let mut removed = 0;
        for l1 in read_dir(&self.root)? {
            if !l1.is_dir() {
                continue;
            }
            for l2 in read_dir(&l1)? {
                if !l2.is_dir() {
                    continue;
                }
                for f in read_dir(&l2)? {
                    let name = f
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default()
                        .to_owned();
                    let stale = name.starts_with(".tmp-") || (valid_hash(&name) && !keep(&name));
                    if stale && std::fs::remove_file(&f).is_ok() {
                        removed += 1;
                    }
                }
            }
        }
        Ok(removed)
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

    /// Whether the file for `hash` exists (tests and diagnostics).
    pub fn contains(&self, hash: &str) -> bool {
        valid_hash(hash) && self.path_of(hash).is_file()
    }
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(io_err(dir))?;
    let mut out = Vec::new();
    for e in rd {
        out.push(e.map_err(io_err(dir))?.path());
    }
    Ok(out)
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

    #[test]
    fn configured_path_follows_attachment_storage() {
        let schema = kc_configs::schemas::server();
        let mut cfg = kc_configs::Config::defaults(schema);
        cfg.set("attachment_path", "/srv/att").unwrap();
        assert_eq!(configured_path(&cfg), Some(PathBuf::from("/srv/att")));
        cfg.set("attachment_storage", "database").unwrap();
        assert_eq!(configured_path(&cfg), None);
    }

    #[test]
    fn sweep_removes_tmp_and_unknown() {
        let d = tempfile::tempdir().unwrap();
        let a = AttachmentDir::new(d.path()).unwrap();
        let keep = a.put(b"keep").unwrap();
        let drop = a.put(b"drop").unwrap();
        let tmp = d.path().join(&keep[0..2]).join(&keep[2..4]).join(".tmp-1");
        std::fs::write(&tmp, b"x").unwrap();
        assert_eq!(a.sweep(|h| h == keep).unwrap(), 2);
        assert!(a.contains(&keep));
        assert!(!a.contains(&drop));
        assert!(!tmp.exists());
    }
}
