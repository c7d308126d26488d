//! Options every kc daemon shares (logging, privileges, pid file). Each is a
//! `const fn` so component tables can list them with their own defaults.

use super::{opt, OptionSpec, ValueKind::*};

/// Where log lines go. `stderr` and `auto` are kc additions (`auto`: stderr
/// when `log_file` is `-` or empty, the file otherwise).
pub(super) const LOG_METHODS: &[&str] = &["file", "syslog", "stderr", "auto"];

pub(super) const fn log_method(default: &'static str) -> OptionSpec {
    opt(
        "log_method",
        default,
        OneOf(LOG_METHODS),
        "Where to log: file, syslog, stderr, or auto (stderr when log_file is '-', else the file)",
    )
    .reloadable()
}

pub(super) const fn log_file(default: &'static str) -> OptionSpec {
    opt(
        "log_file",
        default,
        Path,
        "Log file for log_method = file; '-' means standard error. Reopened on SIGHUP",
    )
    .reloadable()
}

pub(super) const fn log_level(default: &'static str) -> OptionSpec {
    opt(
        "log_level",
        default,
        HexMask,
        "0 none, 1 fatal, 2 error, 3 warning, 4 notice, 5 info, 6 debug; or a KC hex mask (low byte = level)",
    )
    .reloadable()
}

pub(super) const fn log_timestamp() -> OptionSpec {
    opt(
        "log_timestamp",
        "yes",
        Bool,
        "Prefix each log line with the date and time (file and stderr logging)",
    )
    .reloadable()
}

pub(super) const fn run_as_user() -> OptionSpec {
    opt(
        "run_as_user",
        "kopano",
        Str,
        "Unix user to switch to after opening listeners and files; empty = stay as started",
    )
}

pub(super) const fn run_as_group() -> OptionSpec {
    opt(
        "run_as_group",
        "kopano",
        Str,
        "Unix group to switch to after opening listeners and files; empty = stay as started",
    )
}

pub(super) const fn pid_file(default: &'static str) -> OptionSpec {
    opt(
        "pid_file",
        default,
        Path,
        "File that receives the process id (also with -F); a running copy named in it stops a second start; empty = none",
    )
}
