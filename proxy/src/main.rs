//! `kc-proxy`: the kc DMZ edge.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use arc_swap::ArcSwap;
use clap::Parser;
use kc_configs::service::{self, StandardArgs};
use kc_configs::{schemas, Config};
use kc_proxy::access_log::AccessLog;
use kc_proxy::directory::{refresh_loop, DirectoryHome, TableSource};
use kc_proxy::resolve::Resolver;
use kc_proxy::settings::Settings;
use kc_proxy::state::{HomeLookup, Shared};

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

fn run(args: Args) -> anyhow::Result<()> {
    kc_certs::tls::install_crypto_provider();
    let path = args.std.config_path(schemas::proxy());
    let cfg = args
        .std
        .load(schemas::proxy())
        .map_err(|e| anyhow!("{e}"))?;
    let settings = Settings::from_config(&cfg).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if args.std.check_config {
        // The exit code speaks for the configuration itself; TLS material it names is
        // checked too, but a missing file on the machine running the check (say, a
        // staging copy of the file) is reported, not fatal.
        if let Err(e) = settings.certs.load() {
            eprintln!("warning: TLS material: {e} (kc-proxy will not start until this is fixed)");
        }
        service::check_config_and_exit(&args.std, schemas::proxy());
    }
    let _pid = if args.lookup.is_none() && !args.std.foreground {
        // Fork before any thread exists.
        service::daemonize().context("daemonize")?;
        match cfg.path("pid_file") {
            Some(p) => Some(
                service::write_pid_file(&p).with_context(|| format!("pid file {}", p.display()))?,
            ),
            None => None,
        }
    } else {
        None
    };
    let dir_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("kc-proxy-dir")
        .enable_all()
        .build()
        .context("directory runtime")?;
    if let Some(user) = &args.lookup {
        let path = settings.ldap_config.as_ref().ok_or_else(|| {
            anyhow!(
                "--lookup needs ldap_config (and node_source ldap or both) in {}",
                path.display()
            )
        })?;
        let dir = load_directory(&dir_rt, path)?;
        let report = dir_rt
            .block_on(kc_directory::lookup_report(&dir, user))
            .map_err(|e| anyhow!("{user}: {e}"))?;
        print!("{report}");
        let servers = dir_rt.block_on(dir.servers()).unwrap_or_default();
        let source = TableSource {
            static_nodes: settings.static_nodes.clone(),
            default_node: settings.default_node.clone(),
            prefer_tls: settings.upstream_ca_file.is_some(),
        };
        let table = source.build(&servers);
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
        return Ok(());
    }
    let _log = service::init_logging(&cfg, "proxy");

    let source = TableSource {
        static_nodes: settings.static_nodes.clone(),
        default_node: settings.default_node.clone(),
        prefer_tls: settings.upstream_ca_file.is_some(),
    };
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
    let on_hup: Option<Box<dyn Fn() + Send + Sync>> = directory
        .clone()
        .map(|d| Box::new(move || d.invalidate()) as Box<dyn Fn() + Send + Sync>);
    if let Some(dir) = directory {
        let (_tx, rx) = tokio::sync::watch::channel(false);
        // The sender is leaked with the runtime: the loop runs for the process lifetime.
        std::mem::forget(_tx);
        dir_rt.spawn(refresh_loop(
            dir,
            source,
            shared.clone(),
            settings.directory_refresh,
            rx,
        ));
    }
    let server = kc_proxy::app::build(&settings, shared, on_hup).map_err(|e| anyhow!("{e}"))?;
    tracing::info!("kc-proxy {} starting", env!("CARGO_PKG_VERSION"));
    // The directory runtime must outlive the server; run_forever exits the process.
    std::mem::forget(dir_rt);
    server.run_forever();
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kc-proxy: {e:#}");
            ExitCode::FAILURE
        }
    }
}
