//! `gateway.cfg` options.

use super::{common, opt, OptionSpec, Schema, ValueKind::*};

pub(super) static SCHEMA: Schema = Schema {
    component: "gateway",
    default_path: "/etc/kopano/gateway.cfg",
    options: OPTIONS,
    legacy_listen: &[],
};

static OPTIONS: &[OptionSpec] = &[
    common::log_method(),
    common::log_file("/var/log/kopano/gateway.log"),
    common::log_level("3"),
    common::log_timestamp(),
    opt("server_socket", "http://localhost:236/kopano", Uri, "Storage server to connect to"),
];
