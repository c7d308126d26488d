//! What every gateway connection shares: the store client, TLS material,
//! the reloadable behaviour settings and the edge trust list.

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use kc_certs::tls::ReloadingServerConfig;
use kc_configs::Config;
use kc_store_api::client::StoreClient;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::net::{canonical, IpNet};

/// gateway.cfg options that shape IMAP and POP3 sessions; replaced on SIGHUP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Refuse LOGIN/USER/PASS/AUTH without TLS from non-local, untrusted peers.
    pub disable_plaintext_auth: bool,
    /// List only mail folders over IMAP.
    pub imap_only_mailfolders: bool,
    /// Show the public store over IMAP.
    pub imap_public_folders: bool,
    /// Advertise and allow IDLE.
    pub imap_capability_idle: bool,
    /// Disconnect after this many consecutive failed commands (0 = never).
    pub imap_max_fail_commands: u32,
    /// Largest APPEND in bytes.
    pub imap_max_messagesize: u64,
    /// Expunge at once when `\Deleted` is set.
    pub imap_expunge_on_delete: bool,
    /// Answer IDLE without sending updates.
    pub imap_ignore_command_idle: bool,
    /// Show the host name in greetings (`server_hostname_greeting`).
    pub hostname_greeting: bool,
}

impl Settings {
    /// Reads the options from a loaded gateway.cfg.
    pub fn from_config(cfg: &Config) -> Settings {
        Settings {
            disable_plaintext_auth: cfg.bool("disable_plaintext_auth"),
            imap_only_mailfolders: cfg.bool("imap_only_mailfolders"),
            imap_public_folders: cfg.bool("imap_public_folders"),
            imap_capability_idle: cfg.bool("imap_capability_idle"),
            imap_max_fail_commands: u32::try_from(cfg.int("imap_max_fail_commands").max(0))
                .unwrap_or(u32::MAX),
            imap_max_messagesize: cfg.size_bytes("imap_max_messagesize"),
            imap_expunge_on_delete: cfg.bool("imap_expunge_on_delete"),
            imap_ignore_command_idle: cfg.bool("imap_ignore_command_idle"),
            hostname_greeting: cfg.bool("server_hostname_greeting"),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_config(&Config::defaults(kc_configs::schemas::gateway()))
    }
}

/// Shared by all connections of the process.
pub struct GatewayContext {
    /// The node's store API.
    pub client: StoreClient,
    /// Certificate for IMAPS/POP3S and STARTTLS/STLS; `None`: no TLS offered.
    pub tls: Option<Arc<ReloadingServerConfig>>,
    /// Behaviour options (swapped on SIGHUP; load per command or per session).
    pub settings: ArcSwap<Settings>,
    /// `trusted_edge_addresses`: peers whose client-address claims are believed.
    pub trusted_edges: Vec<IpNet>,
    /// `server_hostname`, else the system host name.
    pub hostname: String,
    /// Turns `true` on SIGTERM: finish the command in progress, then close.
    pub shutdown: watch::Receiver<bool>,
    /// POP3 maildrops in use by a session of this process.
    pub pop3_locks: crate::pop3::lock::MaildropLocks,
}

impl GatewayContext {
    /// The current settings.
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.load_full()
    }

    /// An acceptor with the current certificate, for a new handshake.
    pub fn tls_acceptor(&self) -> Option<TlsAcceptor> {
        self.tls.as_ref().map(|t| TlsAcceptor::from(t.current()))
    }

    /// Whether `peer` is a kc-proxy edge from `trusted_edge_addresses`.
    pub fn is_trusted_edge(&self, peer: IpAddr) -> bool {
        self.trusted_edges.iter().any(|n| n.contains(peer))
    }

    /// The client's address: the one an edge claims (IMAP ID
    /// `x-originating-ip`, POP3 `XCLIENT ADDR=`) when `peer` is a trusted
    /// edge, else the peer itself.
    pub fn originating_ip(&self, peer: IpAddr, claimed: Option<IpAddr>) -> IpAddr {
        match claimed {
            Some(c) if self.is_trusted_edge(peer) => canonical(c),
            _ => canonical(peer),
        }
    }

    /// Whether a password may be sent on this connection: always over TLS;
    /// without TLS only when `disable_plaintext_auth` is off, or from the
    /// local host, or from a trusted edge (which terminated the client's TLS).
    pub fn plaintext_auth_allowed(&self, tls_active: bool, peer: IpAddr) -> bool {
        tls_active
            || !self.settings.load().disable_plaintext_auth
            || canonical(peer).is_loopback()
            || self.is_trusted_edge(peer)
    }

    /// The text after `+OK`/`* OK` in a greeting.
    pub fn greeting(&self, service: &str) -> String {
        if self.settings.load().hostname_greeting {
            format!("{} {service} gateway ready", self.hostname)
        } else {
            format!("{service} gateway ready")
        }
    }
}

/// The system host name (`/proc/sys/kernel/hostname`), `localhost` if unknown.
pub fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kc_store_api::client::ClientConfig;

    fn ctx(edges: &str, disable_plaintext: bool) -> GatewayContext {
        let mut cfg = Config::defaults(kc_configs::schemas::gateway());
        cfg.set(
            "disable_plaintext_auth",
            if disable_plaintext { "yes" } else { "no" },
        )
        .unwrap();
        GatewayContext {
            client: StoreClient::new(ClientConfig {
                server_socket: "http://127.0.0.1:1/".into(),
                tls: None,
                timeout: std::time::Duration::from_secs(1),
            })
            .unwrap(),
            tls: None,
            settings: ArcSwap::from_pointee(Settings::from_config(&cfg)),
            trusted_edges: crate::net::parse_ranges(edges).unwrap(),
            hostname: "gw.example".into(),
            shutdown: watch::channel(false).1,
            pop3_locks: Default::default(),
        }
    }

    #[test]
    fn originating_ip_only_from_edges() {
        let c = ctx("192.0.2.0/24", false);
        let edge: IpAddr = "192.0.2.9".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        let claim: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(c.originating_ip(edge, Some(claim)), claim);
        assert_eq!(c.originating_ip(other, Some(claim)), other);
        assert_eq!(c.originating_ip(edge, None), edge);
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().unwrap();
        assert_eq!(c.originating_ip(mapped, Some(claim)), claim);
    }

    #[test]
    fn plaintext_rules() {
        let c = ctx("192.0.2.0/24", true);
        let remote: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(!c.plaintext_auth_allowed(false, remote));
        assert!(c.plaintext_auth_allowed(true, remote));
        assert!(c.plaintext_auth_allowed(false, "127.0.0.1".parse().unwrap()));
        assert!(c.plaintext_auth_allowed(false, "192.0.2.1".parse().unwrap()));
        assert!(ctx("", false).plaintext_auth_allowed(false, remote));
        assert_eq!(c.greeting("POP3"), "POP3 gateway ready");
    }
}
