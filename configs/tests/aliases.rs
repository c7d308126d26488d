//! Zarafa-era names: aliases and the legacy listener translation.

use std::path::Path;

use kc_configs::{schemas, Config, ConfigError, ListenAddr};

fn load(text: &str, schema: &'static kc_configs::Schema) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/kopano/test.cfg"), schema)
}

#[test]
fn zarafa_aliases_map_onto_kopano_names() {
    let cfg = load(
        "enable_distributed_zarafa = yes\nenable_hosted_zarafa = true\n",
        schemas::server(),
    )
    .unwrap();
    assert!(cfg.bool("enable_distributed_kopano"));
    assert!(cfg.bool("enable_hosted_kopano"));
    assert_eq!(cfg.origin("enable_hosted_kopano").unwrap().line, 2);
    // The alias also works as an accessor key, and later-wins spans both names.
    assert!(cfg.bool("enable_distributed_zarafa"));
    let cfg = load(
        "enable_distributed_kopano = yes\nenable_distributed_zarafa = no\n",
        schemas::server(),
    )
    .unwrap();
    assert!(!cfg.bool("enable_distributed_kopano"));
    let names: Vec<_> = cfg.effective().into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"enable_distributed_kopano"));
    assert!(!names.contains(&"enable_distributed_zarafa"));
}

fn tcp(host: Option<&str>, port: u16) -> ListenAddr {
    ListenAddr::Tcp {
        host: host.map(str::to_owned),
        port,
        iface: None,
    }
}

#[test]
fn server_legacy_ports_translate_to_listen() {
    let cfg = load(
        "server_bind = 127.0.0.1\nserver_tcp_port = 1236\n",
        schemas::server(),
    )
    .unwrap();
    assert_eq!(
        cfg.listen("server_listen"),
        vec![tcp(Some("127.0.0.1"), 1236)]
    );
    // Zarafa had TLS off unless server_ssl_enabled was set.
    assert!(cfg.listen("server_listen_tls").is_empty());
    assert_eq!(cfg.origin("server_listen").unwrap().line, 2);

    let cfg = load(
        "server_ssl_enabled = yes\nserver_ssl_port = 1237\n",
        schemas::server(),
    )
    .unwrap();
    assert_eq!(cfg.listen("server_listen_tls"), vec![tcp(None, 1237)]);
    assert_eq!(cfg.str("server_listen"), "*:236");

    let cfg = load(
        "server_ssl_enabled = yes\nserver_bind = ::1\n",
        schemas::server(),
    )
    .unwrap();
    assert_eq!(cfg.str("server_listen_tls"), "[::1]:237");
    assert_eq!(cfg.str("server_listen"), "[::1]:236");

    let cfg = load("server_tcp_enabled = no\n", schemas::server()).unwrap();
    assert!(cfg.listen("server_listen").is_empty());
    assert!(cfg.warnings().is_empty());
}

#[test]
fn current_listen_option_beats_legacy_with_warning() {
    let cfg = load(
        "server_listen = 10.0.0.1:236\nserver_tcp_port = 999\n",
        schemas::server(),
    )
    .unwrap();
    assert_eq!(cfg.str("server_listen"), "10.0.0.1:236");
    assert_eq!(cfg.warnings().len(), 1);
    assert_eq!(
        cfg.warnings()[0],
        "/etc/kopano/test.cfg:2: legacy option 'server_tcp_port' ignored because 'server_listen' is set at /etc/kopano/test.cfg:1"
    );
}

#[test]
fn legacy_values_are_validated() {
    let e = load("server_tcp_port = http\n", schemas::server()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/kopano/test.cfg:1: invalid value 'http' for option 'server_tcp_port': expected a port number from 1 to 65535"
    );
    let e = load("imap_enable = perhaps\n", schemas::gateway()).unwrap_err();
    assert!(
        e.to_string()
            .contains("for option 'imap_enable': expected yes, no"),
        "{e}"
    );
    let e = load("server_bind = not an address\n", schemas::server()).unwrap_err();
    assert!(e.to_string().contains("for option 'server_bind'"), "{e}");
}

#[test]
fn gateway_legacy_ports() {
    let cfg = load(
        "server_bind = 0.0.0.0\nimap_enable = no\nimaps_enable = yes\npop3_port = 1110\npop3s_enable = no\n",
        schemas::gateway(),
    )
    .unwrap();
    assert!(cfg.listen("imap_listen").is_empty());
    assert_eq!(cfg.listen("imaps_listen"), vec![tcp(Some("0.0.0.0"), 993)]);
    assert_eq!(cfg.listen("pop3_listen"), vec![tcp(Some("0.0.0.0"), 1110)]);
    assert!(cfg.listen("pop3s_listen").is_empty());

    let cfg = load("imaps_port = 10993\n", schemas::gateway()).unwrap();
    // Port without imaps_enable: Zarafa's default (off) applies.
    assert!(cfg.listen("imaps_listen").is_empty());
    assert_eq!(cfg.str("imap_listen"), "*:143");
}

#[test]
fn ldap_host_port_protocol_become_uri() {
    let cfg = load(
        "ldap_host = ldap1 ldap2.example.com\nldap_protocol = ldaps\n",
        schemas::ldap(),
    )
    .unwrap();
    assert_eq!(
        cfg.uris("ldap_uri"),
        vec![
            "ldaps://ldap1:636/".to_owned(),
            "ldaps://ldap2.example.com:636/".to_owned()
        ]
    );
    let cfg = load("ldap_port = 3268\n", schemas::ldap()).unwrap();
    assert_eq!(
        cfg.uris("ldap_uri"),
        vec!["ldap://localhost:3268/".to_owned()]
    );
    let cfg = load("ldap_uri = ldap://a/\nldap_host = b\n", schemas::ldap()).unwrap();
    assert_eq!(cfg.uris("ldap_uri"), vec!["ldap://a/".to_owned()]);
    assert_eq!(cfg.warnings().len(), 1);
}
