//! proxy.cfg, turned into typed settings once at start-up. Every value is
//! checked here, so a bad configuration fails `--check-config` and start-up
//! with the option's name, never a request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kc_certs::tls::ClientAuth;
use kc_configs::Config;

use crate::access_log::Format;
use crate::headers::parse_proxy_header;
use crate::mail::{MailConfig, UpstreamTls};
use crate::nodes::{parse_static, NodeSpec};
use crate::reverse::Origin;
use crate::route::PathMode;
use crate::state::EdgeConfig;
use crate::tls::{parse_verify_client, CertEntry, CertFiles};

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{option}: {reason}")]
pub struct SettingsError {
    /// The option name.
    pub option: &'static str,
    /// What is wrong.
    pub reason: String,
}

fn bad(option: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError {
        option,
        reason: reason.into(),
    }
}

/// Everything kc-proxy reads from proxy.cfg.
#[derive(Debug, Clone)]
pub struct Settings {
    /// TLS listeners and their client-certificate policy.
    pub https: Vec<(SocketAddr, ClientAuth)>,
    /// Plain HTTP listeners.
    pub http: Vec<SocketAddr>,
    /// HTTP/3 (UDP) listeners and their client-certificate policy.
    pub h3: Vec<(SocketAddr, ClientAuth)>,
    /// Admin listeners.
    pub admin: Vec<SocketAddr>,
    /// IMAP listeners (STARTTLS) and their client-certificate policy.
    pub imap: Vec<(SocketAddr, ClientAuth)>,
    /// IMAP over TLS listeners.
    pub imaps: Vec<(SocketAddr, ClientAuth)>,
    /// POP3 listeners (STLS).
    pub pop3: Vec<(SocketAddr, ClientAuth)>,
    /// POP3 over TLS listeners.
    pub pop3s: Vec<(SocketAddr, ClientAuth)>,
    /// IMAP/POP3 proxy behaviour.
    pub mail: MailConfig,
    /// Certificates and client-certificate CA.
    pub certs: CertFiles,
    /// Request-handling settings.
    pub edge: EdgeConfig,
    /// ldap.cfg, when the directory is used.
    pub ldap_config: Option<PathBuf>,
    /// Static nodes.
    pub static_nodes: Vec<NodeSpec>,
    /// The `/kopano` node name; empty = automatic.
    pub default_node: String,
    /// Node list refresh period.
    pub directory_refresh: Duration,
    /// Internal CA file for HTTPS nodes.
    pub upstream_ca_file: Option<PathBuf>,
    /// The edge's client certificate and key for HTTPS nodes.
    pub upstream_identity: Option<(PathBuf, PathBuf)>,
    /// Idle upstream connections kept per thread.
    pub upstream_keepalive: usize,
    /// DNS cache lifetime.
    pub dns_cache_ttl: Duration,
    /// Access log: `None` off, `Some(None)` stdout, `Some(Some(path))` file.
    pub access_log: Option<Option<PathBuf>>,
    /// Access log format.
    pub access_log_format: Format,
    /// Worker threads per service.
    pub threads: usize,
    /// Graceful shutdown wait.
    pub shutdown_grace: Duration,
}

fn addrs(cfg: &Config, key: &'static str) -> Result<Vec<SocketAddr>, SettingsError> {
    let mut out = Vec::new();
    for l in cfg.listen(key) {
        out.extend(l.to_socket_addrs().map_err(|e| bad(key, e.to_string()))?);
    }
    Ok(out)
}

fn with_auth(
    list: Vec<SocketAddr>,
    default: ClientAuth,
    ports: &HashMap<u16, ClientAuth>,
) -> Vec<(SocketAddr, ClientAuth)> {
    list.into_iter()
        .map(|a| (a, ports.get(&a.port()).copied().unwrap_or(default)))
        .collect()
}

impl Settings {
    /// Reads and checks every option.
    pub fn from_config(cfg: &Config) -> Result<Settings, SettingsError> {
        let verify_default = match cfg.str("ssl_verify_client") {
            "optional" => ClientAuth::Optional,
            "required" => ClientAuth::Required,
            _ => ClientAuth::Off,
        };
        let (_, verify_ports) = parse_verify_client(cfg.str("ssl_verify_client_ports"))
            .map_err(|e| bad("ssl_verify_client_ports", e))?;
        let base = cfg
            .source_path()
            .and_then(|p| p.parent())
            .map(PathBuf::from)
            .unwrap_or_default();
        let mut certs = Vec::new();
        if let Some(cert) = cfg.path("ssl_certificate_file") {
            certs.push(CertEntry {
                hosts: Vec::new(),
                cert,
                key: cfg.path("ssl_private_key_file"),
            });
        }
        for item in cfg.str("ssl_sni_certificates").split_whitespace() {
            let (host, files) = item.split_once('=').ok_or_else(|| {
                bad(
                    "ssl_sni_certificates",
                    format!("'{item}': expected host=certfile[,keyfile]"),
                )
            })?;
            let (cert, key) = match files.split_once(',') {
                Some((c, k)) => (base.join(c), Some(base.join(k))),
                None => (base.join(files), None),
            };
            certs.push(CertEntry {
                hosts: vec![host.to_string()],
                cert,
                key,
            });
        }
        let certs = CertFiles {
            certs,
            key_pass: cfg.opt_str("ssl_private_key_pass").map(str::to_string),
            ca_file: cfg.path("ssl_verify_file"),
            ca_dir: cfg.path("ssl_verify_path"),
            verify_depth: match cfg.int("ssl_verify_depth") {
                d if d <= 0 => None,
                d => Some(u8::try_from(d).map_err(|_| bad("ssl_verify_depth", "0..255"))?),
            },
            tls13_only: cfg.str("tls_min_proto") == "tls1.3",
        };
        if certs.tls13_only {
            tracing::warn!("tls_min_proto = tls1.3 is enforced on the IMAP/POP3 listeners; the HTTPS listeners (pingora) still accept TLS 1.2");
        }
        let https = addrs(cfg, "https_listen")?;
        let h3 = addrs(cfg, "h3_listen")?;
        if (!https.is_empty() || !h3.is_empty()) && certs.certs.is_empty() {
            return Err(bad(
                "ssl_certificate_file",
                "required for https_listen and h3_listen",
            ));
        }
        let imap = addrs(cfg, "imap_listen")?;
        let imaps = addrs(cfg, "imaps_listen")?;
        let pop3 = addrs(cfg, "pop3_listen")?;
        let pop3s = addrs(cfg, "pop3s_listen")?;
        if [&imap, &imaps, &pop3, &pop3s].iter().any(|l| !l.is_empty()) && certs.certs.is_empty() {
            // STARTTLS listeners need it too: passwords never travel in the clear.
            return Err(bad(
                "ssl_certificate_file",
                "required for imap_listen, imaps_listen, pop3_listen and pop3s_listen",
            ));
        }
        let proxy_header = match cfg.str("proxy_header").trim() {
            "" => None,
            v => Some(parse_proxy_header(v).ok_or_else(|| {
                bad(
                    "proxy_header",
                    "expected a header name, optionally 'name: value'",
                )
            })?),
        };
        let node_mode = PathMode::parse(cfg.str("route_path_mode"))
            .ok_or_else(|| bad("route_path_mode", "keep or strip"))?;
        let kopano_mode = match cfg.str("kopano_path_mode").trim() {
            "" => node_mode,
            v => {
                PathMode::parse(v).ok_or_else(|| bad("kopano_path_mode", "keep, strip or empty"))?
            }
        };
        let port = |key: &'static str| {
            u16::try_from(cfg.int(key))
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad(key, "a port number 1..65535"))
        };
        let public_url = match cfg.opt_str("public_url") {
            None => None,
            Some(u) => Some(
                Origin::split(u)
                    .map(|(o, _)| o)
                    .ok_or_else(|| bad("public_url", "expected http(s)://host[:port]"))?,
            ),
        };
        let alt_svc = h3
            .first()
            .map(|a| format!("h3=\":{}\"; ma=86400", a.port()));
        let upstream_ca_file = cfg.path("upstream_ssl_ca_file");
        let upstream_identity = cfg.path("upstream_ssl_certificate_file").map(|c| {
            let k = cfg
                .path("upstream_ssl_private_key_file")
                .unwrap_or_else(|| c.clone());
            (c, k)
        });
        if cfg.opt_str("upstream_ssl_private_key_pass").is_some() {
            return Err(bad(
                "upstream_ssl_private_key_pass",
                "encrypted upstream keys are not supported; use an unencrypted key readable only by kc-proxy",
            ));
        }
        let mail = mail_settings(cfg, port("node_imap_port")?, port("node_pop3_port")?)?;
        if mail.upstream_tls != UpstreamTls::Plain && cfg.path("upstream_ssl_ca_file").is_none() {
            return Err(bad(
                "mail_upstream_tls",
                "TLS to the nodes' mail gateways needs upstream_ssl_ca_file",
            ));
        }
        let edge = EdgeConfig {
            proxy_header,
            kopano_mode,
            node_mode,
            activesync: (false, port("node_activesync_port")?),
            caldav: (false, port("node_caldav_port")?),
            public_url,
            alt_svc,
            soap_limit: SOAP_REWRITE_LIMIT,
            connect_timeout: cfg.duration("upstream_connect_timeout"),
            read_timeout: cfg.duration("upstream_read_timeout"),
            idle_timeout: cfg.duration("keepalive_timeout"),
        };
        let access_log = match cfg.opt_str("access_log_file") {
            None => None,
            Some("-") => Some(None),
            Some(_) => Some(cfg.path("access_log_file")),
        };
        let source = cfg.str("node_source");
        let ldap_config = if source == "static" {
            None
        } else {
            cfg.path("ldap_config")
        };
        let static_nodes = if source == "ldap" {
            Vec::new()
        } else {
            parse_static(cfg.str("nodes")).map_err(|e| bad("nodes", e))?
        };
        Ok(Settings {
            https: with_auth(https, verify_default, &verify_ports),
            http: addrs(cfg, "http_listen")?,
            h3: with_auth(h3, verify_default, &verify_ports),
            admin: addrs(cfg, "admin_listen")?,
            imap: with_auth(imap, verify_default, &verify_ports),
            imaps: with_auth(imaps, verify_default, &verify_ports),
            pop3: with_auth(pop3, verify_default, &verify_ports),
            pop3s: with_auth(pop3s, verify_default, &verify_ports),
            mail,
            certs,
            edge,
            ldap_config,
            static_nodes,
            default_node: cfg.str("default_node").trim().to_string(),
            directory_refresh: Duration::from_secs(60),
            upstream_ca_file,
            upstream_identity,
            upstream_keepalive: 128,
            dns_cache_ttl: Duration::from_secs(60),
            access_log,
            access_log_format: if cfg.str("access_log_format").eq_ignore_ascii_case("json") {
                Format::Json
            } else {
                Format::Combined
            },
            threads: usize::try_from(cfg.int("threads")).unwrap_or(0),
            shutdown_grace: cfg.duration("shutdown_timeout"),
        })
    }
}

/// The IMAP/POP3 settings. Options proposed for proxy.cfg but not (yet) in
/// its schema keep the [`MailConfig`] defaults; each is read as soon as the
/// schema has it.
fn mail_settings(
    cfg: &Config,
    imap_port: u16,
    pop3_port: u16,
) -> Result<MailConfig, SettingsError> {
    let has = |key: &str| cfg.schema().find(key).is_some();
    let mut mail = MailConfig {
        node_imap_port: imap_port,
        node_pop3_port: pop3_port,
        connect_timeout: cfg.duration("upstream_connect_timeout"),
        command_timeout: cfg.duration("client_header_timeout"),
        ..MailConfig::default()
    };
    if has("mail_plaintext_auth") {
        mail.plaintext_auth = cfg.bool("mail_plaintext_auth");
    }
    if has("mail_upstream_tls") {
        mail.upstream_tls = match cfg.str("mail_upstream_tls") {
            "starttls" => UpstreamTls::StartTls,
            "tls" => UpstreamTls::Implicit,
            "off" | "" => UpstreamTls::Plain,
            _ => return Err(bad("mail_upstream_tls", "off, starttls or tls")),
        };
    }
    if has("mail_login_timeout") {
        mail.login_timeout = cfg.duration("mail_login_timeout");
    }
    if has("mail_auth_penalty_delay") {
        mail.throttle.base = cfg.duration("mail_auth_penalty_delay");
    }
    if has("mail_auth_penalty_max_delay") {
        mail.throttle.cap = cfg.duration("mail_auth_penalty_max_delay");
    }
    if has("mail_auth_penalty_window") {
        mail.throttle.window = cfg.duration("mail_auth_penalty_window");
    }
    if has("mail_auth_failure_limit") {
        mail.throttle.limit = u32::try_from(cfg.int("mail_auth_failure_limit"))
            .map_err(|_| bad("mail_auth_failure_limit", "0 or a positive number"))?;
    }
    if has("mail_max_preauth_per_ip") {
        mail.max_preauth_per_ip = usize::try_from(cfg.int("mail_max_preauth_per_ip"))
            .map_err(|_| bad("mail_max_preauth_per_ip", "0 or a positive number"))?;
    }
    if mail.throttle.cap < mail.throttle.base {
        mail.throttle.cap = mail.throttle.base;
    }
    Ok(mail)
}

/// Largest SOAP reply held back for the redirect safety net (redirect
/// replies are a few hundred bytes; store replies can be large).
pub const SOAP_REWRITE_LIMIT: usize = 256 << 10;

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut cfg = Config::defaults(kc_configs::schemas::proxy());
        for (k, v) in pairs {
            cfg.set(k, v).unwrap();
        }
        cfg
    }

    #[test]
    fn mail_listeners_and_node_ports() {
        let s = Settings::from_config(&config(&[
            ("imap_listen", "127.0.0.1:1143"),
            ("pop3s_listen", "127.0.0.1:1995"),
            ("node_imap_port", "10143"),
            ("upstream_connect_timeout", "2"),
        ]))
        .unwrap();
        assert_eq!(s.imap.len(), 1);
        assert_eq!(s.pop3s[0].0.port(), 1995);
        assert!(s.imaps.is_empty() && s.pop3.is_empty());
        assert_eq!(s.mail.node_imap_port, 10143);
        assert_eq!(s.mail.node_pop3_port, 110);
        assert_eq!(s.mail.connect_timeout, Duration::from_secs(2));
        assert!(!s.mail.plaintext_auth);
        assert_eq!(s.mail.upstream_tls, UpstreamTls::Plain);
        let e = Settings::from_config(&config(&[
            ("https_listen", ""),
            ("imap_listen", "127.0.0.1:1143"),
            ("ssl_certificate_file", ""),
        ]))
        .unwrap_err();
        assert_eq!(e.option, "ssl_certificate_file");
        assert!(Settings::from_config(&config(&[("node_pop3_port", "0")])).is_err());
    }
}
