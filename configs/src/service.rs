//! The skeleton every kc daemon shares: standard command-line options,
//! `--check-config`, logging, signals, the pid file, daemonizing, listeners
//! and privilege dropping.
//!
//! A daemon implements [`Service`] (one hook per phase) and calls [`run`]
//! from `main`:
//!
//! ```ignore
//! fn main() -> ExitCode {
//!     let cli = Cli::parse();
//!     service::run::<MyDaemon>(Daemon {
//!         schema: schemas::gateway(),
//!         args: cli.std,
//!         drain_limit: Duration::from_secs(10),
//!     })
//! }
//! ```
//!
//! The pieces stay public for a daemon whose server loop is not ours
//! (kc-proxy runs pingora's): [`prepare`] does the steps before the
//! runtime, [`init_logging`] and [`signals`] the ones inside it.

mod args;
mod daemon;
mod listeners;
mod logging;
mod pidfile;
mod run;
mod signals;

pub use args::{check_config, check_config_and_exit, StandardArgs};
pub use daemon::{check_run_as, daemonize, drop_privileges, will_drop_privileges};
pub use listeners::{BindError, Listeners};
pub use logging::{init_logging, kc_level_filter, LogGuard, ReopenableFile};
pub use pidfile::{check_pid_file, write_pid_file, PidFile, PidFileError};
pub use run::{
    error_chain, prepare, reload_config, run, Daemon, Prepared, Service, ServiceError, Startup,
};
pub use signals::{drain, signals, Signals};
