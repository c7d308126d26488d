//! The one start-up and shutdown sequence of every kc daemon, with a hook
//! per phase ([`Service`]), in the spirit of pingora's server/service split.
//!
//! [`run`] does, in order:
//! 1. `--check-config`: print the effective configuration, exit 0 or 1;
//! 2. load the configuration (with `!include`); errors go to stderr;
//! 3. refuse to start when `pid_file` names a live copy of this program or
//!    when `run_as_user` / `run_as_group` do not exist;
//! 4. fork into the background unless `-F`;
//! 5. build the tokio runtime ([`Service::worker_threads`]);
//! 6. logging (`log_method`, `log_file`, `log_level`) and signal handlers;
//! 7. write `pid_file` (in the foreground too, as KC does), only now, so
//!    that a SIGTERM sent to the pid in it always finds the handlers;
//! 8. [`Service::start`]: build the state and bind listeners, still as the
//!    starting user (privileged ports, root-owned socket folders);
//! 9. switch to `run_as_user` / `run_as_group`;
//! 10. [`Service::serve`]: spawn the accept loops;
//! 11. on SIGHUP re-read the file, apply the log settings and call
//!     [`Service::reload`]; on SIGTERM/SIGINT leave the loop;
//! 12. [`Service::drain`] for at most [`Daemon::drain_limit`], then
//!     [`Service::stop`]; remove the unix sockets and the pid file.
//!
//! [`prepare`] is steps 1-4 alone, for a daemon whose server loop is not
//! ours (kc-proxy runs pingora's); it calls [`Prepared::write_pid_file`]
//! once its signal handlers are installed.

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::args::{check_config_and_exit, StandardArgs};
use super::daemon::{check_run_as, daemonize, drop_privileges};
use super::listeners::Listeners;
use super::logging::{init_logging, LogGuard};
use super::pidfile::{check_pid_file, write_pid_file, PidFile, PidFileError};
use super::signals::{drain, signals, Signals};
use crate::config::Config;
use crate::schema::Schema;

/// An error from a [`Service`] hook. `anyhow::Error` and every
/// `std::error::Error` convert into it with `?`.
pub type ServiceError = Box<dyn Error + Send + Sync + 'static>;

/// What a daemon is: its configuration schema, its command line, and how
/// long shutdown may wait for open connections.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// The component's option schema (its `component` also names the
    /// program: `kc-<component>`).
    pub schema: &'static Schema,
    /// The parsed standard options.
    pub args: StandardArgs,
    /// Longest wait for in-flight work after SIGTERM/SIGINT.
    pub drain_limit: Duration,
}

impl Daemon {
    /// `kc-server`, `kc-gateway`, ...: the prefix of messages on stderr.
    pub fn program(&self) -> String {
        format!("kc-{}", self.schema.component)
    }
}

/// What is there when [`Service::start`] runs.
pub struct Startup {
    /// The loaded configuration.
    pub config: Config,
    /// SIGHUP and shutdown channels; hand `signals.shutdown()` to accept loops.
    pub signals: Signals,
    /// The installed logging (e.g. to reopen it from a service's own hook).
    pub log: LogGuard,
    /// Binds listeners; unix socket files are removed at exit.
    pub listeners: Listeners,
    /// The real user id that started the process, before any privilege drop.
    pub start_uid: u32,
}

/// The hooks of one daemon, one per phase of [`run`]. The futures run on
/// the main thread (`block_on`), so they need not be `Send`; spawned tasks
/// must be.
#[allow(async_fn_in_trait)]
pub trait Service: Sized {
    /// Tokio worker threads for this configuration; 0 = one per core.
    fn worker_threads(_cfg: &Config) -> usize {
        0
    }

    /// Builds the daemon's state and binds its listeners (through
    /// `startup.listeners`). Runs before privileges are dropped.
    async fn start(startup: &mut Startup) -> Result<Self, ServiceError>;

    /// Starts serving: spawns the accept loops and timers, which stop when
    /// `signals.shutdown()` turns true. Runs as `run_as_user`.
    async fn serve(&mut self, signals: &Signals) -> Result<(), ServiceError>;

    /// SIGHUP. `reloaded` is the configuration read again, or `None` when
    /// it could not be read (the error is logged; the old settings stay).
    /// Log settings are applied already.
    fn reload(&mut self, _reloaded: Option<&Config>) {}

    /// After SIGTERM/SIGINT: waits for in-flight work to finish. [`run`]
    /// stops waiting after [`Daemon::drain_limit`].
    async fn drain(&mut self) {}

    /// The last hook, after [`Self::drain`] finished or timed out.
    fn stop(self) {}
}

/// What [`prepare`] leaves for the daemon's own server loop.
#[derive(Debug)]
pub struct Prepared {
    /// The loaded configuration.
    pub config: Config,
    /// `pid_file`, if set (checked, not written yet).
    pub pid_path: Option<PathBuf>,
    /// The real user id that started the process.
    pub start_uid: u32,
}

impl Prepared {
    /// Writes `pid_file` (if set); the guard removes it when dropped. Call
    /// it once the signal handlers are installed.
    pub fn write_pid_file(&self) -> Result<Option<PidFile>, PidFileError> {
        self.pid_path.as_deref().map(write_pid_file).transpose()
    }
}

/// Steps 1-4 of [`run`]: `--check-config`, loading, the pid file and
/// `run_as_user` checks, and forking unless `-F`. Must be called before
/// any thread exists. Errors are printed to stderr, prefixed with the
/// program.
pub fn prepare(daemon: &Daemon) -> Result<Prepared, ExitCode> {
    let program = daemon.program();
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("{program}: {e}");
        ExitCode::FAILURE
    };
    if daemon.args.check_config {
        check_config_and_exit(&daemon.args, daemon.schema);
    }
    let config = daemon.args.load(daemon.schema).map_err(|e| fail(&e))?;
    let pid_path = if daemon.schema.find("pid_file").is_some() {
        config.path("pid_file")
    } else {
        None
    };
    if let Some(p) = &pid_path {
        check_pid_file(p).map_err(|e| fail(&e))?;
    }
    check_run_as(&config).map_err(|e| fail(&format_args!("run_as_user/run_as_group: {e}")))?;
    // SAFETY: getuid has no preconditions.
    let start_uid = unsafe { libc::getuid() };
    if !daemon.args.foreground {
        daemonize().map_err(|e| fail(&format_args!("cannot daemonize: {e}")))?;
    }
    Ok(Prepared {
        config,
        pid_path,
        start_uid,
    })
}

/// `error: cause: cause` for an error and its sources.
pub fn error_chain(e: &(dyn Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// Runs daemon `S` through every phase (see the module documentation) and
/// returns the process exit code.
pub fn run<S: Service>(daemon: Daemon) -> ExitCode {
    let prepared = match prepare(&daemon) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let program = daemon.program();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    let threads = S::worker_threads(&prepared.config);
    if threads > 0 {
        rt.worker_threads(threads);
    }
    let rt = match rt.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{program}: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(phases::<S>(&daemon, prepared));
    // Tasks still running after the drain are abandoned here.
    rt.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = error_chain(e.as_ref());
            tracing::error!("{text}");
            eprintln!("{program}: {text}");
            ExitCode::FAILURE
        }
    }
}

async fn phases<S: Service>(daemon: &Daemon, prepared: Prepared) -> Result<(), ServiceError> {
    let log = init_logging(&prepared.config, daemon.schema.component);
    let signals = signals();
    let pid_file = prepared.write_pid_file()?;
    let mut startup = Startup {
        config: prepared.config,
        signals,
        log,
        listeners: Listeners::default(),
        start_uid: prepared.start_uid,
    };
    let mut service = S::start(&mut startup).await?;
    let Startup {
        config,
        signals,
        log,
        listeners,
        ..
    } = startup;
    drop_privileges(&config).map_err(|e| format!("run_as_user/run_as_group: {e}"))?;
    service.serve(&signals).await?;
    tracing::info!("{} {} started", daemon.program(), env!("CARGO_PKG_VERSION"));
    let mut hup = signals.subscribe_hup();
    let mut shutdown = signals.shutdown();
    let mut current = config;
    loop {
        tokio::select! {
            r = hup.recv() => {
                // Lagged: several HUPs at once are one reload.
                if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                    continue;
                }
                current = reload(current, &log, &mut service);
            }
            _ = shutdown.wait_for(|v| *v) => break,
        }
    }
    tracing::info!("shutting down");
    drain(service.drain(), daemon.drain_limit).await;
    service.stop();
    drop(listeners);
    drop(pid_file);
    Ok(())
}

/// SIGHUP: the configuration read again; on error the old one stays.
fn reload<S: Service>(current: Config, log: &LogGuard, service: &mut S) -> Config {
    match reload_config(&current, log) {
        Some(new) => {
            service.reload(Some(&new));
            new
        }
        None => {
            service.reload(None);
            current
        }
    }
}

/// The skeleton's part of a SIGHUP: reads `current`'s file again, warns
/// about changed options that need a restart, applies the log settings
/// (level, reopened file) and returns the new configuration. When the file
/// cannot be read, logs why, reopens the log file and returns `None`.
pub fn reload_config(current: &Config, log: &LogGuard) -> Option<Config> {
    match current.reload() {
        Ok(new) => {
            for name in current.restart_required(&new) {
                tracing::warn!("{name} changed: takes effect after a restart");
            }
            if let Err(e) = log.reload(&new) {
                tracing::error!("cannot apply log settings: {e}");
            }
            tracing::info!("configuration reloaded");
            Some(new)
        }
        Err(e) => {
            tracing::error!("cannot reload configuration: {e}");
            if let Err(e) = log.reopen() {
                tracing::error!("cannot reopen log: {e}");
            }
            None
        }
    }
}
