//! The skeleton every kc binary shares: standard command-line options,
//! `--check-config`, logging, signals, daemonizing and privilege dropping.
//!
//! A binary's `main` typically runs, in this order: parse its clap parser
//! (with [`StandardArgs`] flattened in), [`StandardArgs::handle_check_config`],
//! [`StandardArgs::load`], [`daemonize`] unless `-F`, [`write_pid_file`],
//! start the tokio runtime, [`init_logging`], bind listeners,
//! [`drop_privileges`], then serve until [`Signals::shutdown`] fires and
//! finish with [`drain`].

mod args;
mod daemon;
mod logging;
mod signals;

pub use args::{check_config, check_config_and_exit, StandardArgs};
pub use daemon::{daemonize, drop_privileges, write_pid_file, PidFile};
pub use logging::{init_logging, kc_level_filter, LogGuard, ReopenableFile};
pub use signals::{drain, signals, Signals};
