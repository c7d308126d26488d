//! Writing outputs safely: keys 0600, key directories 0700, atomic replacement, and
//! no overwriting without `--force`.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::AuthorityError;

/// Fails with [`AuthorityError::Exists`] if `path` exists and `force` is false.
pub fn ensure_absent(path: &Path, force: bool) -> Result<(), AuthorityError> {
    if !force && fs::symlink_metadata(path).is_ok() {
        return Err(AuthorityError::Exists {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Creates `dir` (and parents) with mode 0700 where missing; an existing directory's
/// mode is left alone unless `tighten`.
pub fn create_private_dir(dir: &Path, tighten: bool) -> Result<(), AuthorityError> {
    if !dir.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| AuthorityError::io(dir, e))?;
    } else if tighten {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| AuthorityError::io(dir, e))?;
    }
    Ok(())
}

fn write_atomic(path: &Path, data: &[u8], mode: u32, force: bool) -> Result<(), AuthorityError> {
    ensure_absent(path, force)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask may have cleared bits we want (0644); set the mode explicitly.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(data)?;
        file.sync_all()?;
        if force {
            fs::rename(&tmp, path)
        } else {
            // A hard link fails if the target appeared meanwhile, so nothing is clobbered.
            fs::hard_link(&tmp, path).and_then(|()| fs::remove_file(&tmp))
        }
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            return Err(AuthorityError::Exists {
                path: path.to_path_buf(),
            });
        }
        return Err(AuthorityError::io(path, e));
    }
    Ok(())
}

/// Writes a file holding a private key, mode 0600.
pub fn write_secret(path: &Path, data: &[u8], force: bool) -> Result<(), AuthorityError> {
    write_atomic(path, data, 0o600, force)
}

/// Writes a public file (certificate, public key), mode 0644.
pub fn write_public(path: &Path, data: &[u8], force: bool) -> Result<(), AuthorityError> {
    write_atomic(path, data, 0o644, force)
}
