//! `server.cfg`: the store node (kc-server), after KC's kopano-server.
//!
//! One entry per option; keep entries self-contained so adding one is a
//! one-line (or one-entry) edit. Options KC defines that kc does not use are
//! still accepted (help says so) so that existing files load unchanged.

use super::{common, opt, LegacyListen, OptionSpec, Schema, TimeUnit, ValueKind::*};

pub(super) static SCHEMA: Schema = Schema {
    component: "server",
    default_path: "/etc/kopano/server.cfg",
    options: OPTIONS,
    legacy_listen: LEGACY,
    legacy_uri: None,
};

/// Zarafa-era listener options (see the `schema` module docs).
static LEGACY: &[LegacyListen] = &[
    LegacyListen {
        target: "server_listen",
        enable: "server_tcp_enabled",
        enabled_by_default: true,
        port: "server_tcp_port",
        default_port: 236,
        bind: "server_bind",
    },
    LegacyListen {
        target: "server_listen_tls",
        enable: "server_ssl_enabled",
        enabled_by_default: false,
        port: "server_ssl_port",
        default_port: 237,
        bind: "server_bind",
    },
];

const TLS_PROTOS: &[&str] = &["tls1.2", "tls1.3"];

static OPTIONS: &[OptionSpec] = &[
    // --- listeners
    opt("server_listen", "*:236", Listen, "Plain HTTP (SOAP) listeners; empty disables"),
    opt("server_listen_tls", "*:237", Listen, "HTTPS (SOAP over TLS) listeners; empty disables"),
    opt("server_pipe_enabled", "yes", Bool, "Listen on the unix socket server_pipe_name"),
    opt("server_pipe_name", "/var/run/kopano/server.sock", Path, "Unix socket; peers in local_admin_users are trusted without password"),
    opt("server_pipe_priority", "/var/run/kopano/prio.sock", Path, "Second unix socket served with priority (KC); empty disables"),
    opt("server_name", "", Str, "This node's name in a multi-server setup; must equal the users' kopanoUserServer value"),
    opt("server_hostname", "", Str, "Fully qualified host name when `hostname` is not the FQDN (Kerberos)"),
    opt("server_recv_timeout", "5", Duration, "Wait this long for the next request on an idle keep-alive connection"),
    opt("server_read_timeout", "60", Duration, "Wait this long for the rest of a started request"),
    opt("server_max_keep_alive_requests", "100", Int, "Requests served on one connection before it is closed"),
    opt("threads", "8", Int, "Worker threads handling requests (kc: tokio worker threads; 0 = one per CPU)"),
    // --- TLS
    opt("server_ssl_key_file", "/etc/kopano/ssl/server.pem", Path, "PEM file with the server's private key and certificate chain").reloadable(),
    opt("server_ssl_key_pass", "", Str, "Password of the encrypted private key in server_ssl_key_file").secret().reloadable(),
    opt("server_ssl_ca_file", "/etc/kopano/ssl/cacert.pem", Path, "CA certificates used to verify client certificates").reloadable(),
    opt("server_ssl_ca_path", "", Path, "Directory of CA certificates used to verify client certificates").reloadable(),
    opt("server_tls_min_proto", "tls1.2", OneOf(TLS_PROTOS), "Lowest TLS version accepted: tls1.2 or tls1.3"),
    opt("sslkeys_path", "/etc/kopano/sslkeys", Path, "Public keys of trusted programs; a client proving the matching key logs in as SYSTEM").reloadable(),
    // --- authentication and trust
    opt("local_admin_users", "root kopano", Str, "Unix users trusted as admins over the unix socket (space-separated); no password check"),
    opt("allow_local_users", "yes", Bool, "Over the unix socket, a local user may log on as the account of the same name without password"),
    opt("proxy_header", "", Str, "Redirect via kopanoProxyURL: '' off, a header name (e.g. kopano_proxy) when present, '*' always").reloadable(),
    opt("session_timeout", "300", Duration, "Idle time after which a session expires (seconds; KC minimum 300)"),
    opt("session_ip_check", "yes", Bool, "Reject a session id used from a different IP address than the one that logged in"),
    opt("enable_sso", "no", Bool, "Allow single sign-on (NTLM/Kerberos); accepted, kc does not implement SSO"),
    opt("kcoidc_issuer_identifier", "", Uri, "OpenID Connect issuer URL; empty disables OIDC (accepted; not implemented by kc)"),
    opt("kcoidc_insecure_skip_verify", "no", Bool, "Skip TLS verification of the OIDC issuer (accepted; not implemented by kc)"),
    opt("kcoidc_initialize_timeout", "60", Duration, "How long to wait for OIDC discovery at start (accepted; not implemented by kc)"),
    // --- users and tenants
    opt("user_plugin", "db", OneOf(&["db", "ldap", "unix"]), "Where users come from: db, ldap or unix (restart to change)"),
    opt("user_plugin_config", "/etc/kopano/ldap.cfg", Path, "Configuration file of the user plugin (ldap.cfg for ldap)"),
    opt("user_safe_mode", "no", Bool, "Never create or delete users, groups or stores while syncing (use while changing LDAP config)").reloadable(),
    opt("sync_gab_realtime", "yes", Bool, "Read the address book from LDAP on every request instead of the local cache").reloadable(),
    opt("enable_distributed_kopano", "no", Bool, "Multi-server mode: users live on the node named by their kopanoUserServer").alias(&["enable_distributed_zarafa"]),
    opt("enable_hosted_kopano", "no", Bool, "Multi-tenancy (companies)").alias(&["enable_hosted_zarafa"]),
    opt("loginname_format", "%u", Str, "Login name format in hosted mode: %u user, %c company (e.g. %u@%c)"),
    opt("storename_format", "%f", Str, "Store display name: %u user, %f full name, %c company"),
    opt("createuser_script", "/usr/lib/kopano/userscripts/createuser", Path, "Script run when a user appears (accepted; kc creates stores itself)"),
    opt("deleteuser_script", "/usr/lib/kopano/userscripts/deleteuser", Path, "Script run when a user disappears (accepted; kc deletes stores itself)"),
    opt("creategroup_script", "/usr/lib/kopano/userscripts/creategroup", Path, "Script run when a group appears (accepted; not run by kc)"),
    opt("deletegroup_script", "/usr/lib/kopano/userscripts/deletegroup", Path, "Script run when a group disappears (accepted; not run by kc)"),
    opt("createcompany_script", "/usr/lib/kopano/userscripts/createcompany", Path, "Script run when a company appears (accepted; kc creates its public store itself)"),
    opt("deletecompany_script", "/usr/lib/kopano/userscripts/deletecompany", Path, "Script run when a company disappears (accepted; not run by kc)"),
    opt("hide_everyone", "no", Bool, "Hide the Everyone group from the address book").reloadable(),
    opt("hide_system", "yes", Bool, "Hide the SYSTEM user from the address book").reloadable(),
    opt("disabled_features", "imap pop3", Str, "Features off unless enabled per user (space-separated: imap pop3 mobile)").reloadable(),
    // --- storage
    opt("sqlite_path", "/var/lib/kopano/kopano.db", Path, "kc addition: the SQLite database holding all stores (KC used MySQL)"),
    opt("mysql_host", "localhost", Str, "KC MySQL host (accepted; kc uses sqlite_path)"),
    opt("mysql_port", "3306", Int, "KC MySQL port (accepted; kc uses sqlite_path)"),
    opt("mysql_user", "root", Str, "KC MySQL user (accepted; kc uses sqlite_path)"),
    opt("mysql_password", "", Str, "KC MySQL password (accepted; kc uses sqlite_path)").secret(),
    opt("mysql_database", "kopano", Str, "KC MySQL database (accepted; kc uses sqlite_path)"),
    opt("mysql_socket", "", Path, "KC MySQL unix socket (accepted; kc uses sqlite_path)"),
    opt("enable_sql_procedures", "no", Bool, "KC MySQL stored procedures (accepted; no effect in kc)"),
    opt("attachment_storage", "files", OneOf(&["database", "files", "files_v2"]), "Where attachments live: database, files or files_v2 (choose before first start)"),
    opt("attachment_path", "/var/lib/kopano/attachments", Path, "Directory for attachment_storage = files / files_v2"),
    opt("attachment_compression", "6", Int, "gzip level for attachment files (0 = none, 1-9)"),
    opt("softdelete_lifetime", "30", DurationIn(TimeUnit::Days), "Days before soft-deleted items are purged; 0 = never").reloadable(),
    opt("enable_enhanced_ics", "yes", Bool, "Streaming incremental sync for offline clients"),
    opt("cache_cell_size", "256M", SizeMb, "Table cell cache (MB; about a quarter of RAM)"),
    opt("cache_object_size", "16M", SizeMb, "Folder hierarchy cache (MB; about 100 KB per user)"),
    opt("cache_indexedobject_size", "32M", SizeMb, "Entry id to object id cache (MB; about 512 KB per user)"),
    opt("cache_server_lifetime", "300", Duration, "How long home-server (LDAP server object) lookups are cached").reloadable(),
    opt("tmp_path", "/tmp", Path, "Directory for temporary files"),
    // --- quota (MB; 0 disables a level)
    opt("quota_warn", "0", SizeMb, "Default user quota warning level (MB; 0 = none): mail to the user").reloadable(),
    opt("quota_soft", "0", SizeMb, "Default user soft quota (MB; 0 = none): sending blocked").reloadable(),
    opt("quota_hard", "0", SizeMb, "Default user hard quota (MB; 0 = none): delivery refused").reloadable(),
    opt("companyquota_warn", "0", SizeMb, "Default company quota warning level (MB; 0 = none)").reloadable(),
    // --- delivery and search
    opt("lmtp_listen", "*%lo:2003", Listen, "LMTP delivery listeners (KC dagent's lmtp_listen); empty disables"),
    opt("search_enabled", "yes", Bool, "Use the search service for searches (kc: built-in search; no effect)"),
    opt("search_socket", "file:///var/run/kopano/search.sock", Uri, "Search service socket (accepted; kc searches in the database)"),
    opt("search_timeout", "10", Duration, "Search service timeout (accepted; kc searches in the database)"),
    // --- audit log
    opt("audit_log_enabled", "no", Bool, "Write the security audit log (logins, impersonation, shared-store access)").reloadable(),
    opt("audit_log_method", "syslog", OneOf(&["syslog", "file"]), "Audit log target: syslog (facility authpriv) or file").reloadable(),
    opt("audit_log_file", "/var/log/kopano/audit.log", Path, "Audit log file for audit_log_method = file; '-' means standard error").reloadable(),
    opt("audit_log_level", "1", Int, "Audit detail: 1 = authentication events, higher adds store access events").reloadable(),
    opt("audit_log_timestamp", "no", Bool, "Prefix audit lines with date and time (file only)").reloadable(),
    // --- process
    common::log_method("file"),
    common::log_file("/var/log/kopano/server.log"),
    common::log_level("3"),
    common::log_timestamp(),
    common::run_as_user(),
    common::run_as_group(),
    common::pid_file("/var/run/kopano/server.pid"),
    opt("plugin_path", "/usr/lib/kopano", Path, "KC plugin directory (accepted; kc has its plugins built in)"),
    opt("client_update_enabled", "no", Bool, "ZCP Windows client auto-update (accepted; kc does not serve client updates)"),
    opt("client_update_path", "/var/lib/kopano/client", Path, "ZCP client update packages (accepted; no effect in kc)"),
    opt("client_update_log_level", "1", Int, "ZCP client update logging: 0 off, 1 on error, 2 always (accepted; no effect in kc)"),
    opt("client_update_log_path", "/var/log/kopano/autoupdate", Path, "ZCP client update logs (accepted; no effect in kc)"),
];
