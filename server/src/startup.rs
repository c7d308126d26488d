//! Builds a running node from server.cfg: storage, user plugin, TLS, and the
//! listeners, for the daemon skeleton's start phase (`bin/kc-server.rs`).

use std::sync::Arc;

use kc_configs::service::{BindError, Listeners};
use kc_configs::{schemas, Config, ListenAddr};
use rustls_pki_types::CertificateDer;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::audit::{AuditConfig, AuditLog, AuditTarget};
use crate::net::Listener;
use crate::node::{CertAuth, Node, Settings, Stats};
use crate::session::SessionManager;
use crate::soap::xml::Limits;
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{Quota, Storage};
use crate::users::db::DbPlugin;
use crate::users::ldap::LdapPlugin;
use crate::users::UserPlugin;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Config(String),
    #[error("database {path}: {source}")]
    Storage {
        path: String,
        source: crate::storage::StorageError,
    },
    #[error("user plugin: {0}")]
    Plugin(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// `sslkeys_path` through kc-certs; a broken directory or certificate trusts nothing.
struct SslKeyAuth(kc_certs::tls::SslKeys);

impl CertAuth for SslKeyAuth {
    fn trusted(&self, cert: &CertificateDer<'_>) -> bool {
        match self.0.matching_key(cert) {
            Ok(Some(path)) => {
                info!(key = %path.display(), "client certificate matches a trusted key");
                true
            }
            Ok(None) => false,
            Err(e) => {
                warn!(error = %e, "cannot check client certificate");
                false
            }
        }
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// Node settings from server.cfg.
pub fn settings(cfg: &Config) -> Settings {
    let server_name = match cfg.opt_str("server_name") {
        Some(n) => n.to_owned(),
        None => hostname(),
    };
    Settings {
        server_name,
        distributed: cfg.bool("enable_distributed_kopano"),
        proxy_header: cfg.str("proxy_header").trim().to_owned(),
        session_ip_check: cfg.bool("session_ip_check"),
        session_timeout: cfg.duration("session_timeout"),
        local_admin_users: words(cfg.str("local_admin_users")),
        allow_local_users: cfg.bool("allow_local_users"),
        disabled_features: words(cfg.str("disabled_features")),
        pipe_path: cfg.path("server_pipe_name"),
        limits: Limits::default(),
        default_quota: Quota {
            override_default: false,
            warn: cfg.size_bytes("quota_warn") as i64,
            soft: cfg.size_bytes("quota_soft") as i64,
            hard: cfg.size_bytes("quota_hard") as i64,
        },
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its full length, which is passed.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

pub fn audit_config(cfg: &Config) -> AuditConfig {
    let target = if cfg.str("audit_log_method") == "file" {
        let f = cfg.str("audit_log_file");
        if f == "-" {
            AuditTarget::File(None)
        } else {
            AuditTarget::File(cfg.path("audit_log_file"))
        }
    } else {
        AuditTarget::Syslog
    };
    AuditConfig {
        enabled: cfg.bool("audit_log_enabled"),
        target,
        level: cfg.int("audit_log_level"),
        timestamp: cfg.bool("audit_log_timestamp"),
    }
}

async fn plugin(
    cfg: &Config,
    storage: Arc<dyn Storage>,
) -> Result<Arc<dyn UserPlugin>, StartupError> {
    match cfg.str("user_plugin") {
        "db" => Ok(Arc::new(DbPlugin::new(storage))),
        "ldap" => {
            let path = cfg
                .path("user_plugin_config")
                .ok_or_else(|| StartupError::Plugin("user_plugin_config is empty".into()))?;
            let ldap_cfg = Config::load(&path, schemas::ldap())
                .map_err(|e| StartupError::Plugin(e.to_string()))?;
            let dir = kc_directory::Directory::from_config(&ldap_cfg)
                .await
                .map_err(|e| StartupError::Plugin(e.to_string()))?;
            Ok(Arc::new(LdapPlugin::new(dir)))
        }
        other => Err(StartupError::Plugin(format!(
            "user_plugin '{other}' is not supported by kc (use db or ldap)"
        ))),
    }
}

/// Open the database and build the node.
pub async fn build_node(cfg: &Config, audit: AuditLog) -> Result<Arc<Node>, StartupError> {
    let settings = settings(cfg);
    let db_path = cfg
        .path("sqlite_path")
        .ok_or_else(|| StartupError::Config("sqlite_path is empty".into()))?;
    let storage: Arc<dyn Storage> = {
        let p = db_path.clone();
        // Single-instance attachment files unless `attachment_storage = database`.
        let att = crate::storage::attachments::configured_path(cfg);
        let s = tokio::task::spawn_blocking(move || {
            SqliteStorage::open_with_attachments(&p, att.as_deref())
        })
        .await
        .map_err(|e| StartupError::Config(e.to_string()))?
        .map_err(|source| StartupError::Storage {
            path: db_path.display().to_string(),
            source,
        })?;
        Arc::new(s)
    };
    let plugin = plugin(cfg, storage.clone()).await?;
    if settings.distributed && plugin.name() == "db" {
        return Err(StartupError::Config(
            "enable_distributed_kopano needs user_plugin = ldap (the db plugin knows no servers)"
                .into(),
        ));
    }
    let certs: Option<Arc<dyn CertAuth>> = cfg
        .path("sslkeys_path")
        .map(|p| Arc::new(SslKeyAuth(kc_certs::tls::SslKeys::new(&p))) as Arc<dyn CertAuth>);
    let guid = storage
        .server_guid()
        .map_err(|source| StartupError::Storage {
            path: db_path.display().to_string(),
            source,
        })?;
    Ok(Arc::new(Node {
        proxy_header: parking_lot::RwLock::new(settings.proxy_header.clone()),
        sessions: SessionManager::new(settings.session_timeout, settings.session_ip_check),
        settings,
        storage,
        plugin,
        audit,
        certs,
        guid,
        stats: Stats::default(),
    }))
}

fn tls_acceptor(cfg: &Config) -> Result<Option<TlsAcceptor>, StartupError> {
    let Some(key_file) = cfg.path("server_ssl_key_file") else {
        return Err(StartupError::Tls(
            "server_listen_tls is set but server_ssl_key_file is empty".into(),
        ));
    };
    if !cfg.is_set("server_listen_tls") && !key_file.exists() {
        warn!(
            file = %key_file.display(),
            "TLS listener disabled: no server_ssl_key_file (set server_listen_tls explicitly to require it)"
        );
        return Ok(None);
    }
    let spec = kc_certs::tls::ServerTls {
        cert_file: key_file,
        key_file: None,
        key_pass: cfg.opt_str("server_ssl_key_pass").map(str::to_owned),
        ca_file: cfg.path("server_ssl_ca_file"),
        ca_dir: cfg.path("server_ssl_ca_path"),
        client_auth: kc_certs::tls::ClientAuth::Optional,
        verify_depth: None,
        alpn: vec![b"http/1.1".to_vec()],
        tls13_only: cfg.str("server_tls_min_proto") == "tls1.3",
    };
    let config = spec.build().map_err(|e| StartupError::Tls(e.to_string()))?;
    Ok(Some(TlsAcceptor::from(config)))
}

/// Bind every configured listener (`server_listen`, `server_listen_tls`,
/// and the `server_pipe_name` socket) through the daemon skeleton, which
/// removes the unix sockets at exit.
pub fn bind_listeners(cfg: &Config, bind: &mut Listeners) -> Result<Vec<Listener>, StartupError> {
    let mut out = vec![];
    for a in cfg.listen("server_listen") {
        match &a {
            ListenAddr::Unix(p) => {
                out.push(Listener::Unix(
                    bind.unix("server_listen", p, 0o666)?,
                    p.clone(),
                ));
            }
            ListenAddr::Tcp { .. } => out.extend(
                bind.tcp("server_listen", &a)?
                    .into_iter()
                    .map(Listener::Tcp),
            ),
        }
    }
    let tls = cfg.listen("server_listen_tls");
    if !tls.is_empty() {
        if let Some(acceptor) = tls_acceptor(cfg)? {
            for a in &tls {
                for l in bind.tcp("server_listen_tls", a)? {
                    out.push(Listener::Tls(l, acceptor.clone()));
                }
            }
        }
    }
    if cfg.bool("server_pipe_enabled") {
        if let Some(p) = cfg.path("server_pipe_name") {
            // World-connectable: clients are told apart by their peer
            // credentials, as in KC.
            out.push(Listener::Unix(bind.unix("server_pipe_name", &p, 0o666)?, p));
        }
    }
    Ok(out)
}

/// LMTP delivery settings from server.cfg: the greeting names this node,
/// large bodies spool to `tmp_path`.
pub fn lmtp_config(cfg: &Config, node: &Node) -> crate::lmtp::LmtpConfig {
    let session = crate::lmtp::SessionConfig {
        hostname: node.settings.server_name.clone(),
        spool_dir: cfg.path("tmp_path"),
        ..crate::lmtp::SessionConfig::default()
    };
    crate::lmtp::LmtpConfig {
        session: Arc::new(session),
        ..crate::lmtp::LmtpConfig::default()
    }
}

/// Bind every `lmtp_listen` entry (before privileges are dropped, since the
/// unix socket's directory may be root's); unix sockets are removed at exit.
pub fn bind_lmtp(
    cfg: &Config,
    bind: &mut Listeners,
) -> Result<Vec<crate::lmtp::LmtpListener>, StartupError> {
    let mut out = vec![];
    for a in cfg.listen("lmtp_listen") {
        let ls = crate::lmtp::LmtpListener::bind(&a).map_err(|source| {
            StartupError::Bind(BindError {
                what: format!("lmtp_listen = {a}"),
                source,
            })
        })?;
        if let ListenAddr::Unix(p) = &a {
            bind.remove_at_exit(p.clone());
        }
        out.extend(ls);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_log_target_follows_method_and_file() {
        let mut cfg = Config::defaults(schemas::server());
        cfg.set("audit_log_method", "file").unwrap();
        cfg.set("audit_log_file", "-").unwrap();
        assert_eq!(audit_config(&cfg).target, AuditTarget::File(None));
        cfg.set("audit_log_file", "/var/log/kopano/audit.log")
            .unwrap();
        assert_eq!(
            audit_config(&cfg).target,
            AuditTarget::File(Some("/var/log/kopano/audit.log".into()))
        );
        cfg.set("audit_log_method", "syslog").unwrap();
        assert_eq!(audit_config(&cfg).target, AuditTarget::Syslog);
    }

    #[test]
    fn settings_take_words_and_quota_from_server_cfg() {
        let mut cfg = Config::defaults(schemas::server());
        cfg.set("server_name", "z7").unwrap();
        cfg.set("local_admin_users", " root  kopano ").unwrap();
        cfg.set("quota_hard", "2").unwrap();
        let s = settings(&cfg);
        assert_eq!(s.server_name, "z7");
        assert_eq!(s.local_admin_users, ["root", "kopano"]);
        assert_eq!(s.default_quota.hard, cfg.size_bytes("quota_hard") as i64);
        assert!(s.default_quota.hard > 0);
    }

    #[tokio::test]
    async fn unix_listeners_are_world_connectable_and_removed_at_exit() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("run/server.sock");
        let mut cfg = Config::defaults(schemas::server());
        cfg.set("server_listen", "").unwrap();
        cfg.set("server_listen_tls", "").unwrap();
        cfg.set("server_pipe_name", sock.to_str().unwrap()).unwrap();
        {
            let mut bind = Listeners::default();
            let ls = bind_listeners(&cfg, &mut bind).unwrap();
            assert_eq!(ls.len(), 1);
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o666);
        }
        assert!(!sock.exists());
    }
}
