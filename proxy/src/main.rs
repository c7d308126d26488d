//! `kc-proxy`: the kc DMZ edge.
//!
//! Start-up follows the daemon skeleton (`kc_configs::service`) up to the
//! server loop: `--check-config`, loading, the pid file, forking, logging,
//! signals and the privilege drop are the skeleton's. The loop is
//! pingora's (`Server::run`), which binds the HTTP listeners itself inside
//! its services (so [`DropPrivileges`] waits for them); SIGTERM and SIGINT
//! reach it through [`OnShutdownSignal`].

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context};
use arc_swap::ArcSwap;
use clap::Parser;
use kc_configs::service::{self, Daemon, Prepared, Signals, StandardArgs};
use kc_configs::{schemas, Config};
use kc_proxy::access_log::AccessLog;
use kc_proxy::directory::{refresh_loop, DirectoryHome, TableSource};
use kc_proxy::resolve::Resolver;
use kc_proxy::settings::Settings;
use kc_proxy::state::{HomeLookup, Shared};
use pingora_core::server::{RunArgs, ShutdownSignal, ShutdownSignalWatch, ShutdownWatch};
use pingora_core::services::background::{background_service, BackgroundService};

/// The kc edge proxy: TLS, /kopano and /zN routing, redirect rewriting.
#[derive(Debug, Parser)]
#[command(name = "kc-proxy", version, about)]
struct Args {
    #[command(flatten)]
    std: StandardArgs,
    /// Print USER's home node and its URLs, from the configured directory, and exit.
    #[arg(long = "lookup", value_name = "USER")]
    lookup: Option<String>,
}

fn load_directory(
    rt: &tokio::runtime::Runtime,
    path: &std::path::Path,
) -> anyhow::Result<kc_directory::Directory> {
    let ldap =
        Config::load(path, schemas::ldap()).with_context(|| format!("{}", path.display()))?;
    rt.block_on(kc_directory::Directory::from_config(&ldap))
        .map_err(|e| anyhow!("directory: {e}"))
}

/// `--check-config`: the configuration's report and exit code; the TLS
/// material it names is checked too, but a missing file on the machine
/// running the check (say, a staging copy of the file) is reported, not
/// fatal.
fn check_config(args: &Args) -> ! {
    if args.std.load(schemas::proxy()).is_ok() {
        match settings(args) {
            Ok(settings) => {
                if let Err(e) = settings.certs.load() {
                    eprintln!(
                        "warning: TLS material: {e} (kc-proxy will not start until this is fixed)"
                    );
                }
            }
            Err(e) => {
                eprintln!("kc-proxy: {e:#}");
                std::process::exit(1);
            }
        }
    }
    service::check_config_and_exit(&args.std, schemas::proxy());
}

/// The checks of proxy.cfg beyond its schema, before forking so that the
/// errors reach the terminal.
fn settings(args: &Args) -> anyhow::Result<Settings> {
    let path = args.std.config_path(schemas::proxy());
    let cfg = args
        .std
        .load(schemas::proxy())
        .map_err(|e| anyhow!("{e}"))?;
    Settings::from_config(&cfg).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// `--lookup USER`: the user's home node and its URLs, then exit.
fn lookup(user: &str, settings: &Settings, cfg_path: &std::path::Path) -> anyhow::Result<()> {
    let dir_rt = directory_runtime()?;
    let path = settings.ldap_config.as_ref().ok_or_else(|| {
        anyhow!(
            "--lookup needs ldap_config (and node_source ldap or both) in {}",
            cfg_path.display()
        )
    })?;
    let dir = load_directory(&dir_rt, path)?;
    let report = dir_rt
        .block_on(kc_directory::lookup_report(&dir, user))
        .map_err(|e| anyhow!("{user}: {e}"))?;
    print!("{report}");
    let servers = dir_rt.block_on(dir.servers()).unwrap_or_default();
    let table = table_source(settings).build(&servers);
    let home = dir_rt
        .block_on(dir.user(user))
        .ok()
        .and_then(|u| u.home_server);
    if let Some(node) = home.as_deref().and_then(|h| table.by_name(h)) {
        let public = settings
            .edge
            .public_url
            .as_ref()
            .map_or_else(|| "https://<edge>".to_string(), |o| o.to_url());
        println!("edge route:    {}/{}/", public, node.key);
        println!("edge upstream: {}", node.soap.origin().to_url());
    }
    Ok(())
}

fn table_source(settings: &Settings) -> TableSource {
    TableSource {
        static_nodes: settings.static_nodes.clone(),
        default_node: settings.default_node.clone(),
        prefer_tls: settings.upstream_ca_file.is_some(),
    }
}

/// The runtime of the directory (start-up reads, the refresh loop) and of
/// the skeleton's signal handling; pingora's services have their own.
fn directory_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("kc-proxy-dir")
        .enable_all()
        .build()
        .context("directory runtime")
}

/// pingora's shutdown trigger from the skeleton's signals: SIGTERM and
/// SIGINT both shut down gracefully, bounded by `shutdown_timeout`.
struct OnShutdownSignal(Signals);

#[async_trait::async_trait]
impl ShutdownSignalWatch for OnShutdownSignal {
    async fn recv(&self) -> ShutdownSignal {
        self.0.wait_shutdown().await;
        ShutdownSignal::GracefulTerminate
    }
}

/// `run_as_user` / `run_as_group` for the edge. pingora binds its HTTP
/// listeners inside its own services after start-up, with no hook after
/// binding; so this service waits until every pingora listener accepts
/// connections (the mail and HTTP/3 sockets are bound before pingora
/// starts) and then switches the whole process. If the switch fails, the
/// edge shuts down rather than keep running as root.
struct DropPrivileges {
    config: Config,
    pingora_listeners: Vec<std::net::SocketAddr>,
    signals: Signals,
    /// Set when the edge shut down because the switch failed.
    failed: Arc<AtomicBool>,
}

impl DropPrivileges {
    fn fail(&self) {
        self.failed.store(true, Ordering::SeqCst);
        self.signals.trigger_shutdown();
    }
}

/// Longest wait for pingora's listeners before privileges are dropped.
const BIND_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

#[async_trait::async_trait]
impl BackgroundService for DropPrivileges {
    async fn start(&self, _shutdown: ShutdownWatch) {
        if !service::will_drop_privileges(&self.config) {
            return;
        }
        let deadline = tokio::time::Instant::now() + BIND_WAIT;
        for addr in &self.pingora_listeners {
            // A wildcard address accepts on loopback.
            let mut probe = *addr;
            if probe.ip().is_unspecified() {
                probe.set_ip(match probe {
                    std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            while tokio::net::TcpStream::connect(probe).await.is_err() {
                if tokio::time::Instant::now() > deadline {
                    tracing::error!("{addr} is not listening after {BIND_WAIT:?}; shutting down");
                    self.fail();
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        match service::drop_privileges(&self.config) {
            Ok(()) => tracing::debug!("listeners bound; running as the configured user"),
            Err(e) => {
                tracing::error!("run_as_user/run_as_group: {e}; shutting down");
                self.fail();
            }
        }
    }
}

/// Runs the edge after the skeleton's [`service::prepare`]: logging and
/// signals from the skeleton, then pingora's server loop until SIGTERM.
fn serve(settings: Settings, prepared: Prepared) -> anyhow::Result<()> {
    let cfg = prepared.config.clone();
    let dir_rt = directory_runtime()?;
    let log = service::init_logging(&cfg, "proxy");
    let signals = dir_rt.block_on(async { service::signals() });
    // Only now: a SIGTERM to the pid in the file finds the handlers.
    let pid_file = prepared.write_pid_file()?;

    let source = table_source(&settings);
    let (directory, servers) = match &settings.ldap_config {
        Some(path) => {
            let dir = load_directory(&dir_rt, path)?;
            let servers = dir_rt.block_on(dir.servers()).unwrap_or_else(|e| {
                tracing::warn!("cannot read the node list yet: {e}");
                Vec::new()
            });
            (Some(dir), servers)
        }
        None => (None, Vec::new()),
    };
    let table = source.build(&servers);
    tracing::info!(nodes = table.nodes().len(), "node table built");
    let access_log = match &settings.access_log {
        None => None,
        Some(path) => Some(
            AccessLog::open(path.as_deref(), settings.access_log_format).context("access_log")?,
        ),
    };
    let home: Option<Arc<dyn HomeLookup>> = directory
        .clone()
        .map(|d| Arc::new(DirectoryHome(d)) as Arc<dyn HomeLookup>);
    let shared = Arc::new(Shared {
        cfg: settings.edge.clone(),
        nodes: ArcSwap::from_pointee(table),
        home,
        resolver: dir_rt.block_on(async { Resolver::new(settings.dns_cache_ttl) }),
        metrics: kc_proxy::app::metrics()?,
        access_log,
    });
    // SIGHUP: proxy.cfg's log settings, then the directory caches.
    let privileges_failed = Arc::new(AtomicBool::new(false));
    let privileges = DropPrivileges {
        failed: privileges_failed.clone(),
        config: cfg.clone(),
        pingora_listeners: settings
            .https
            .iter()
            .map(|(a, _)| *a)
            .chain(settings.http.iter().copied())
            .chain(settings.admin.iter().copied())
            .collect(),
        signals: signals.clone(),
    };
    let current = Mutex::new(cfg);
    let invalidate = directory.clone();
    let on_hup: Box<dyn Fn() + Send + Sync> = Box::new(move || {
        let mut cfg = current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(new) = service::reload_config(&cfg, &log) {
            *cfg = new;
        }
        if let Some(d) = &invalidate {
            d.invalidate();
        }
    });
    if let Some(dir) = directory {
        dir_rt.spawn(refresh_loop(
            dir,
            source,
            shared.clone(),
            settings.directory_refresh,
            signals.shutdown(),
        ));
    }
    let mut server = kc_proxy::app::build(&settings, shared, signals.clone(), Some(on_hup))
        .map_err(|e| anyhow!("{e}"))?;
    server.add_service(background_service("kc-proxy privileges", privileges));
    tracing::info!("kc-proxy {} starting", env!("CARGO_PKG_VERSION"));
    server.run(RunArgs {
        shutdown_signal: Box::new(OnShutdownSignal(signals)),
    });
    tracing::info!("kc-proxy stopped");
    dir_rt.shutdown_background();
    drop(pid_file);
    if privileges_failed.load(Ordering::SeqCst) {
        anyhow::bail!("could not switch to run_as_user/run_as_group (see the log)");
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    kc_certs::tls::install_crypto_provider();
    if args.std.check_config {
        check_config(&args);
    }
    let settings = match settings(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kc-proxy: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(user) = &args.lookup {
        let path = args.std.config_path(schemas::proxy());
        return match lookup(user, &settings, &path) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kc-proxy: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let daemon = Daemon {
        schema: schemas::proxy(),
        args: args.std.clone(),
        drain_limit: settings.shutdown_grace,
    };
    // Forks unless -F, before any thread exists; writes pid_file.
    let prepared = match service::prepare(&daemon) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match serve(settings, prepared) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("kc-proxy: {e:#}");
            ExitCode::FAILURE
        }
    }
}
