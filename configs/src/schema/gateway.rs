//! `gateway.cfg`: the IMAP/POP3 gateway (kc-gateway), after KC's kopano-gateway.

use super::{common, opt, LegacyListen, OptionSpec, Schema, ValueKind::*};

pub(super) static SCHEMA: Schema = Schema {
    component: "gateway",
    default_path: "/etc/kopano/gateway.cfg",
    options: OPTIONS,
    legacy_listen: LEGACY,
    legacy_uri: None,
};

/// Zarafa-era `*_enable` / `*_port` / `server_bind` (see the `schema` module docs).
static LEGACY: &[LegacyListen] = &[
    LegacyListen {
        target: "imap_listen",
        enable: "imap_enable",
        enabled_by_default: true,
        port: "imap_port",
        default_port: 143,
        bind: "server_bind",
    },
    LegacyListen {
        target: "imaps_listen",
        enable: "imaps_enable",
        enabled_by_default: false,
        port: "imaps_port",
        default_port: 993,
        bind: "server_bind",
    },
    LegacyListen {
        target: "pop3_listen",
        enable: "pop3_enable",
        enabled_by_default: true,
        port: "pop3_port",
        default_port: 110,
        bind: "server_bind",
    },
    LegacyListen {
        target: "pop3s_listen",
        enable: "pop3s_enable",
        enabled_by_default: false,
        port: "pop3s_port",
        default_port: 995,
        bind: "server_bind",
    },
];

static OPTIONS: &[OptionSpec] = &[
    // --- listeners
    opt("imap_listen", "*:143", Listen, "IMAP listeners (STARTTLS offered when a certificate is configured); empty disables"),
    opt("imaps_listen", "", Listen, "IMAP over TLS listeners, usually *:993; empty disables"),
    opt("pop3_listen", "*:110", Listen, "POP3 listeners (STLS offered when a certificate is configured); empty disables"),
    opt("pop3s_listen", "", Listen, "POP3 over TLS listeners, usually *:995; empty disables"),
    opt("trusted_edge_addresses", "", Str, "kc addition: addresses/CIDRs of kc-proxy instances whose IMAP ID x-originating-ip / POP3 XCLIENT is believed"),
    // --- storage server
    opt("server_socket", "http://localhost:236/kopano", Uri, "Storage server; use http(s), not the unix socket (that would trust every login)"),
    opt("sslkey_file", "", Path, "Client certificate + key (PEM) for an https:// server_socket"),
    opt("sslkey_pass", "", Str, "Password of the private key in sslkey_file").secret(),
    opt("server_ssl_ca_file", "", Path, "kc addition: CA certificates (PEM) that sign an https:// server_socket; empty = ssl_verify_file/ssl_verify_path, else the system CAs"),
    opt("bypass_auth", "no", Bool, "Let the server skip the password check for the gateway's logins (only with a trusted socket)"),
    // --- TLS towards clients
    opt("ssl_private_key_file", "/etc/kopano/gateway/privkey.pem", Path, "Private key (PEM) for IMAPS/POP3S and STARTTLS").reloadable(),
    opt("ssl_certificate_file", "/etc/kopano/gateway/cert.pem", Path, "Certificate chain (PEM) for IMAPS/POP3S and STARTTLS").reloadable(),
    opt("ssl_verify_client", "no", Bool, "Require clients to present a certificate signed by ssl_verify_file/ssl_verify_path").reloadable(),
    opt("ssl_verify_file", "", Path, "CA certificates (PEM) for client certificate verification").reloadable(),
    opt("ssl_verify_path", "", Path, "Directory of CA certificates for client certificate verification").reloadable(),
    opt("tls_min_proto", "tls1.2", OneOf(&["tls1.2", "tls1.3"]), "Lowest TLS version accepted").reloadable(),
    opt("ssl_ciphers", "", Str, "OpenSSL cipher list (accepted; kc uses the rustls defaults)"),
    opt("ssl_prefer_server_ciphers", "yes", Bool, "Prefer the server's cipher order (accepted; rustls always does)"),
    // --- IMAP / POP3 behaviour
    opt("imap_only_mailfolders", "yes", Bool, "List only folders that hold mail (not calendars, contacts, ...)").reloadable(),
    opt("imap_public_folders", "yes", Bool, "Show the public store under 'Public folders'").reloadable(),
    opt("imap_capability_idle", "yes", Bool, "Advertise and allow IDLE").reloadable(),
    opt("imap_max_fail_commands", "10", Int, "Disconnect after this many consecutive failed commands").reloadable(),
    opt("imap_max_messagesize", "128M", SizeMb, "Largest message accepted by APPEND (plain number = MB)").reloadable(),
    opt("imap_expunge_on_delete", "no", Bool, "Expunge at once when a message gets the \\Deleted flag").reloadable(),
    opt("imap_ignore_command_idle", "no", Bool, "Answer IDLE but send no updates (for misbehaving clients)").reloadable(),
    opt("disable_plaintext_auth", "no", Bool, "Refuse LOGIN/USER/PASS without TLS from non-local peers").reloadable(),
    opt("server_hostname", "", Str, "Host name shown in the greeting; empty = system host name"),
    opt("server_hostname_greeting", "no", Bool, "Show server_hostname in the greeting"),
    // --- process
    opt("process_model", "thread", OneOf(&["thread", "fork"]), "KC process model (accepted; kc always uses async tasks)"),
    opt("tmp_path", "/tmp", Path, "Directory for temporary files"),
    common::log_method("file"),
    common::log_file("/var/log/kopano/gateway.log"),
    common::log_level("3"),
    common::log_timestamp(),
    common::run_as_user(),
    common::run_as_group(),
    common::pid_file("/var/run/kopano/gateway.pid"),
];
