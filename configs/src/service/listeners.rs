//! Opening a daemon's listening sockets from its `*_listen` options (KC
//! forms such as `*%lo:2003`, `[::1]:236`, `unix:/path`), as tokio
//! listeners, before privileges are dropped; the unix socket files are
//! removed again when the daemon stops.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio::net::{TcpListener, UnixListener};

use crate::value::ListenAddr;

/// A listener could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("{what}: cannot listen: {source}")]
pub struct BindError {
    /// The option and address, e.g. `lmtp_listen = *%lo:2003`.
    pub what: String,
    /// The cause.
    pub source: io::Error,
}

/// Opens listeners and remembers the unix socket files to remove when it
/// is dropped (at the end of [`run`](super::run)). Must be used inside a
/// tokio runtime.
#[derive(Debug, Default)]
pub struct Listeners {
    sockets: Vec<PathBuf>,
}

impl Listeners {
    /// TCP listeners for one address (one per resolved address; `%iface`
    /// binds to that interface; `*` is one dual-stack socket). `what` names
    /// the option in errors.
    pub fn tcp(&mut self, what: &str, addr: &ListenAddr) -> Result<Vec<TcpListener>, BindError> {
        let err = |source| BindError {
            what: format!("{what} = {addr}"),
            source,
        };
        addr.bind_tcp()
            .map_err(err)?
            .into_iter()
            .map(|l| TcpListener::from_std(l).map_err(err))
            .collect()
    }

    /// Every TCP address of `option` in `cfg`.
    pub fn tcp_option(
        &mut self,
        cfg: &crate::Config,
        option: &str,
    ) -> Result<Vec<TcpListener>, BindError> {
        let mut out = Vec::new();
        for addr in cfg.listen(option) {
            out.extend(self.tcp(option, &addr)?);
        }
        Ok(out)
    }

    /// A unix socket at `path` with permission bits `mode` (KC's sockets
    /// are world-connectable, 0666: peers are told apart by their
    /// credentials). Creates the parent folder; replaces a stale socket
    /// file but refuses one that a live process still accepts on.
    pub fn unix(&mut self, what: &str, path: &Path, mode: u32) -> Result<UnixListener, BindError> {
        let err = |source| BindError {
            what: format!("{what} = unix:{}", path.display()),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let std = ListenAddr::Unix(path.to_path_buf())
            .bind_unix()
            .map_err(err)?;
        self.sockets.push(path.to_path_buf());
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(err)?;
        UnixListener::from_std(std).map_err(err)
    }

    /// Remembers a socket file bound elsewhere, to remove it at the end.
    pub fn remove_at_exit(&mut self, path: PathBuf) {
        self.sockets.push(path);
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        for s in &self.sockets {
            let _ = std::fs::remove_file(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unix_socket_is_made_world_connectable_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.sock");
        {
            let mut l = Listeners::default();
            let _sock = l.unix("test_listen", &path, 0o666).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o666);
            // A live socket is not taken over.
            let mut again = Listeners::default();
            let e = again.unix("test_listen", &path, 0o666).unwrap_err();
            assert_eq!(e.source.kind(), io::ErrorKind::AddrInUse);
            assert!(e.to_string().starts_with("test_listen = unix:"), "{e}");
        }
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn tcp_option_binds_every_address() {
        let mut cfg = crate::Config::defaults(crate::schemas::gateway());
        cfg.set("imap_listen", "127.0.0.1:0 127.0.0.1:0").unwrap();
        let mut l = Listeners::default();
        assert_eq!(l.tcp_option(&cfg, "imap_listen").unwrap().len(), 2);
    }
}
