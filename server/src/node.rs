//! The node's shared state: settings from server.cfg, storage, the user
//! plugin, sessions, audit log, counters, and what the transport knows about
//! a connection. The protocols on top of it live in `soap/` (KC's SOAP
//! service), `api/` (the store API), `lmtp/` and `lmtp_store.rs`; the user's
//! home store and quota admission in `home.rs`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use tracing::warn;

use crate::audit::AuditLog;
use crate::kcerr::KcErr;
use crate::redirect::ConnKind;
use crate::session::SessionManager;
use crate::soap::xml::Limits;
use crate::storage::{Quota, Storage, StorageError};
use crate::users::UserPlugin;

/// The server version reported in `lpszVersion` (after KC's `"0,"` prefix).
pub const SERVER_VERSION: &str = "8,7,0,0";

/// Node settings taken from server.cfg.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server_name: String,
    pub distributed: bool,
    /// `proxy_header`: empty (off), `*` (always), or a header name.
    pub proxy_header: String,
    pub session_ip_check: bool,
    pub session_timeout: Duration,
    pub local_admin_users: Vec<String>,
    pub allow_local_users: bool,
    pub disabled_features: Vec<String>,
    /// `server_pipe_name`, used as the source address of socket clients.
    pub pipe_path: Option<PathBuf>,
    pub limits: Limits,
    /// server.cfg `quota_warn` / `quota_soft` / `quota_hard`, in bytes.
    pub default_quota: Quota,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            server_name: String::new(),
            distributed: false,
            proxy_header: String::new(),
            session_ip_check: true,
            session_timeout: Duration::from_secs(300),
            local_admin_users: vec!["root".into()],
            allow_local_users: true,
            disabled_features: vec!["imap".into(), "pop3".into()],
            pipe_path: None,
            limits: Limits::default(),
            default_quota: Quota::default(),
        }
    }
}

/// Decides whether a TLS client certificate is trusted (KC `sslkeys_path`).
pub trait CertAuth: Send + Sync {
    fn trusted(&self, cert: &CertificateDer<'_>) -> bool;
}

/// What the transport knows about one connection. Lives as long as the connection.
#[derive(Debug)]
pub struct ConnInfo {
    pub kind: ConnKind,
    /// Peer IP address (no port), or `file://<socket>` for the unix socket.
    pub peer: String,
    /// Unix-socket peer uid (SO_PEERCRED).
    pub peer_uid: Option<u32>,
    /// TLS client certificate, when one was sent.
    pub peer_cert: Option<CertificateDer<'static>>,
    proxied: AtomicBool,
}

impl ConnInfo {
    pub fn new(
        kind: ConnKind,
        peer: String,
        peer_uid: Option<u32>,
        peer_cert: Option<CertificateDer<'static>>,
    ) -> ConnInfo {
        ConnInfo {
            kind,
            peer,
            peer_uid,
            peer_cert,
            proxied: AtomicBool::new(false),
        }
    }

    /// The proxy header was seen on this connection; sticky until it closes.
    pub fn mark_proxied(&self) {
        self.proxied.store(true, Ordering::Relaxed);
    }

    pub fn seen_proxy_header(&self) -> bool {
        self.proxied.load(Ordering::Relaxed)
    }
}

/// Per-request facts from the HTTP headers.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// First address of `X-Forwarded-For`.
    pub forwarded_for: Option<String>,
}

/// Counters exposed in logs and tests.
#[derive(Debug, Default)]
pub struct Stats {
    pub redirects: AtomicU64,
    pub logons: AtomicU64,
    pub logon_failures: AtomicU64,
}

/// The node: its settings and everything the protocols share.
pub struct Node {
    pub settings: Settings,
    pub storage: Arc<dyn Storage>,
    pub plugin: Arc<dyn UserPlugin>,
    pub sessions: SessionManager,
    pub audit: AuditLog,
    pub certs: Option<Arc<dyn CertAuth>>,
    pub guid: [u8; 16],
    pub stats: Stats,
    /// `proxy_header`, reloadable on SIGHUP (starts as `settings.proxy_header`).
    pub proxy_header: parking_lot::RwLock<String>,
}

/// KC's error for a storage failure; database errors are logged.
fn storage_err(e: StorageError) -> KcErr {
    match e {
        StorageError::Collision => KcErr::COLLISION,
        StorageError::NotFound => KcErr::NOT_FOUND,
        StorageError::OverQuota => KcErr::STORE_FULL,
        other => {
            warn!(error = %other, "database error");
            KcErr::DATABASE_ERROR
        }
    }
}

impl Node {
    /// Run `f` on the storage off the async threads; storage errors become
    /// KC errors (`OverQuota` is `KCERR_STORE_FULL`).
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Storage) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, KcErr> {
        let s = self.storage.clone();
        match tokio::task::spawn_blocking(move || f(s.as_ref())).await {
            Ok(r) => r.map_err(storage_err),
            Err(_) => Err(KcErr::UNKNOWN),
        }
    }

    /// `proxy_header = *`, or the header was seen on this connection.
    pub fn proxied(&self, conn: &ConnInfo) -> bool {
        *self.proxy_header.read() == "*" || conn.seen_proxy_header()
    }

    /// Apply a reloaded `proxy_header` value.
    pub fn set_proxy_header(&self, value: &str) {
        *self.proxy_header.write() = value.trim().to_owned();
    }

    /// The client address: X-Forwarded-For on proxied connections, else the peer.
    pub fn source(&self, conn: &ConnInfo, meta: &RequestMeta) -> String {
        if self.proxied(conn) {
            if let Some(f) = meta.forwarded_for.as_deref().filter(|f| !f.is_empty()) {
                return f.to_owned();
            }
        }
        conn.peer.clone()
    }
}

/// The current Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
