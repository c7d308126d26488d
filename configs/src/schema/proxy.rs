//! `proxy.cfg`: kc's edge proxy (kc-proxy). KC had no such file; the options
//! follow KC naming (ssl_*, *_listen) and mirror what the manuals' Apache
//! vhost did (SSLVerifyDepth, RequestHeader set kopano_proxy, ProxyPass).

use super::{common, opt, OptionSpec, Schema, ValueKind::*};

pub(super) static SCHEMA: Schema = Schema {
    component: "proxy",
    default_path: "/etc/kopano/proxy.cfg",
    options: OPTIONS,
    legacy_listen: &[],
    legacy_uri: None,
};

static OPTIONS: &[OptionSpec] = &[
    // --- listeners
    opt("https_listen", "*:443 *:237", Listen, "HTTPS listeners (SOAP, ActiveSync, CalDAV); empty disables"),
    opt("http_listen", "", Listen, "Plain HTTP listeners; empty disables"),
    opt("h3_listen", "", Listen, "HTTP/3 (QUIC, UDP) listeners; empty disables"),
    opt("imap_listen", "", Listen, "IMAP listeners proxied to the user's node; empty disables"),
    opt("imaps_listen", "", Listen, "IMAP over TLS listeners; empty disables"),
    opt("pop3_listen", "", Listen, "POP3 listeners proxied to the user's node; empty disables"),
    opt("pop3s_listen", "", Listen, "POP3 over TLS listeners; empty disables"),
    opt("admin_listen", "127.0.0.1:9237", Listen, "Listeners for /healthz and /metrics; keep local; empty disables"),
    opt("threads", "0", Int, "Worker threads; 0 = one per CPU"),
    // --- TLS towards clients (like SSLCertificateFile / ssl_certificate)
    opt("ssl_certificate_file", "/etc/kopano/proxy/cert.pem", Path, "Certificate chain (PEM) served to clients").reloadable(),
    opt("ssl_private_key_file", "/etc/kopano/proxy/privkey.pem", Path, "Private key (PEM) of ssl_certificate_file; empty = in the certificate file").reloadable(),
    opt("ssl_private_key_pass", "", Str, "Password of an encrypted ssl_private_key_file").secret().reloadable(),
    opt("ssl_sni_certificates", "", Str, "Extra certificates by SNI name: space-separated host=certfile[,keyfile]").reloadable(),
    opt("ssl_verify_client", "off", OneOf(&["off", "optional", "required"]), "Client certificates: off, optional or required (SSLVerifyClient)").reloadable(),
    opt("ssl_verify_client_ports", "", Str, "Per-listener override of ssl_verify_client: space-separated PORT:MODE, e.g. 8443:required").reloadable(),
    opt("ssl_verify_file", "", Path, "CA certificates (PEM) for client certificate verification").reloadable(),
    opt("ssl_verify_path", "", Path, "Directory of CA certificates for client certificate verification").reloadable(),
    opt("ssl_verify_depth", "2", Int, "Longest accepted client certificate chain (SSLVerifyDepth)").reloadable(),
    opt("tls_min_proto", "tls1.2", OneOf(&["tls1.2", "tls1.3"]), "Lowest TLS version accepted").reloadable(),
    // --- routing
    opt("public_url", "", Uri, "External base URL, e.g. https://mail.example.com; used to rewrite Location headers"),
    opt("proxy_header", "kopano_proxy", Str, "Marker header added to proxied requests so nodes redirect via kopanoProxyURL; empty = none").reloadable(),
    opt("node_source", "ldap", OneOf(&["ldap", "static", "both"]), "Node table from LDAP server objects, from `nodes`, or both (static entries win)").reloadable(),
    opt("nodes", "", Str, "Static nodes: space-separated name=url, e.g. z1=https://z1.example.lan:237").reloadable(),
    opt("default_node", "", Str, "Node that serves /kopano, /zarafa and unauthenticated requests; empty = the public-store node").reloadable(),
    opt("kopano_path_mode", "", Str, "Path handling of /kopano and /zarafa (keep or strip); empty = route_path_mode").reloadable(),
    opt("route_path_mode", "keep", OneOf(&["keep", "strip"]), "keep forwards /zN/... unchanged; strip removes the /zN or /kopano prefix").reloadable(),
    opt("ldap_config", "/etc/kopano/ldap.cfg", Path, "ldap.cfg for user -> home-server and node lookups"),
    opt("node_activesync_port", "8080", Int, "Port of kc-gateway's ActiveSync service on each node").reloadable(),
    opt("node_caldav_port", "8080", Int, "Port of kc-gateway's CalDAV service on each node").reloadable(),
    opt("node_imap_port", "143", Int, "Port of kc-gateway's IMAP service on each node").reloadable(),
    opt("node_pop3_port", "110", Int, "Port of kc-gateway's POP3 service on each node").reloadable(),
    // --- IMAP/POP3 edge (kc additions)
    opt("mail_plaintext_auth", "no", Bool, "Allow passwords before STARTTLS/STLS on imap_listen/pop3_listen").reloadable(),
    opt("mail_upstream_tls", "off", OneOf(&["off", "starttls", "tls"]), "How kc-proxy reaches the nodes' IMAP/POP3 gateways; starttls/tls verify with upstream_ssl_ca_file").reloadable(),
    opt("mail_login_timeout", "30", Duration, "Longest wait for one node reply during an IMAP/POP3 login").reloadable(),
    opt("mail_auth_penalty_delay", "1", Duration, "Delay before the next login after a failure from the same address or for the same user; doubles per failure").reloadable(),
    opt("mail_auth_penalty_max_delay", "15", Duration, "Longest failed-login delay").reloadable(),
    opt("mail_auth_penalty_window", "900", Duration, "How long failed logins are remembered").reloadable(),
    opt("mail_max_preauth_per_ip", "50", Int, "Connections per client address (IPv6: per /64) that have not logged in yet; 0 = no limit").reloadable(),
    opt("mail_auth_failure_limit", "10", Int, "Failed logins within the window after which logins are refused; 0 = never").reloadable(),
    // --- upstream (proxy -> node)
    opt("upstream_ssl_ca_file", "", Path, "CA certificates (PEM) to verify https:// nodes; empty = system roots").reloadable(),
    opt("upstream_ssl_certificate_file", "", Path, "Client certificate (PEM) presented to nodes").reloadable(),
    opt("upstream_ssl_private_key_file", "", Path, "Private key of upstream_ssl_certificate_file").reloadable(),
    opt("upstream_ssl_private_key_pass", "", Str, "Password of upstream_ssl_private_key_file").secret().reloadable(),
    opt("upstream_connect_timeout", "5", Duration, "Give up connecting to a node after this long (502)").reloadable(),
    opt("upstream_read_timeout", "900", Duration, "Longest wait for node data; long because of SOAP notification long polls").reloadable(),
    opt("client_header_timeout", "60", Duration, "Close client connections that do not send a full request header in time").reloadable(),
    opt("keepalive_timeout", "75", Duration, "Close idle client keep-alive connections after this long").reloadable(),
    opt("shutdown_timeout", "30", Duration, "On SIGTERM, wait this long for running requests before closing"),
    // --- logging
    opt("access_log_file", "/var/log/kopano/proxy-access.log", Path, "Access log; empty disables, '-' standard output. Reopened on SIGHUP").reloadable(),
    opt("access_log_format", "combined", OneOf(&["combined", "json"]), "Access log format: combined (Apache/nginx) or json").reloadable(),
    common::log_method("file"),
    common::log_file("/var/log/kopano/proxy.log"),
    common::log_level("3"),
    common::log_timestamp(),
    common::run_as_user(),
    common::run_as_group(),
    common::pid_file("/var/run/kopano/proxy.pid"),
];
