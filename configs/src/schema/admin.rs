//! `admin.cfg`: the administration tool (kc-admin).

use super::{common, opt, OptionSpec, Schema, ValueKind::*};

pub(super) static SCHEMA: Schema = Schema {
    component: "admin",
    default_path: "/etc/kopano/admin.cfg",
    options: OPTIONS,
    legacy_listen: &[],
    legacy_uri: None,
};

static OPTIONS: &[OptionSpec] = &[
    opt("server_socket", "file:///var/run/kopano/server.sock", Uri, "Server to manage: file:///path (trusted unix socket), http://host:236/kopano or https://host:237/kopano"),
    opt("sslkey_file", "", Path, "Client certificate + key (PEM) for https:// server_socket; its public key must be in the server's sslkeys_path"),
    opt("sslkey_pass", "", Str, "Password of the private key in sslkey_file").secret(),
    opt("server_ssl_ca_file", "", Path, "kc addition: CA certificates (PEM) that verify the server of an https:// server_socket"),
    opt("default_store_locale", "", Str, "Locale for folder names of new stores, e.g. en_US.UTF-8; empty = the tool's environment"),
    common::log_method("stderr"),
    common::log_file("-"),
    common::log_level("3"),
    common::log_timestamp(),
];
