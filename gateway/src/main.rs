//! `kc-gateway`: the IMAP and POP3 gateway beside a node, serving from the
//! node's store API over http(s) (`server_socket`).
//!
//! SIGHUP re-reads gateway.cfg (behaviour settings, log level), the TLS
//! certificate and key, and reopens the log; SIGTERM/SIGINT stop accepting,
//! tell idle sessions to go, and wait a bounded time for the rest.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use clap::Parser;
use kc_certs::tls::{ClientAuth, ClientTls, ReloadingServerConfig, ServerTls};
use kc_configs::service::{self, StandardArgs};
use kc_configs::{schemas, Config};
use kc_gateway::context::{system_hostname, GatewayContext, Settings};
use kc_gateway::listeners::{self, Service, Tracker};
use kc_store_api::client::{ClientConfig, StoreClient};
use tracing::{error, info, warn};

/// Longest wait for open sessions at shutdown.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// Limit of each store API request (connect and answer).
const STORE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Parser)]
#[command(name = "kc-gateway", version, about = "kc IMAP/POP3 gateway")]
struct Cli {
    #[command(flatten)]
    std: StandardArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let schema = schemas::gateway();
    cli.std.handle_check_config(schema);
    kc_certs::tls::install_crypto_provider();
    let cfg = match cli.std.load(schema) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kc-gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !cli.std.foreground {
        if let Err(e) = service::daemonize() {
            eprintln!("kc-gateway: cannot daemonize: {e}");
            return ExitCode::FAILURE;
        }
    }
    let _pid = match cfg.path("pid_file") {
        Some(p) if !cli.std.foreground => match service::write_pid_file(&p) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("kc-gateway: pid file {}: {e}", p.display());
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kc-gateway: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            eprintln!("kc-gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// TLS towards the node for an https `server_socket`: the node's CA from
/// `server_ssl_ca_file` (a kc addition), else the client-verification CA
/// (`ssl_verify_file`/`ssl_verify_path`) when set, else the system's CA
/// directory.
fn node_tls(cfg: &Config) -> anyhow::Result<Option<Arc<rustls::ClientConfig>>> {
    let url = cfg.str("server_socket");
    if !url.starts_with("https://") {
        if url.starts_with("file:") || url.starts_with('/') {
            anyhow::bail!(
                "server_socket = {url}: the gateway talks to the node over http(s), not the unix socket"
            );
        }
        return Ok(None);
    }
    let (ca_file, ca_dir) = match (
        cfg.path("server_ssl_ca_file"),
        cfg.path("ssl_verify_file"),
        cfg.path("ssl_verify_path"),
    ) {
        (Some(node_ca), _, _) => (Some(node_ca), None),
        (None, None, None) => (None, Some(PathBuf::from("/etc/ssl/certs"))),
        (None, file, dir) => (file, dir),
    };
    let spec = ClientTls {
        ca_file,
        ca_dir,
        client_cert: cfg.path("sslkey_file"),
        client_key: None,
        key_pass: cfg.opt_str("sslkey_pass").map(str::to_owned),
        alpn: vec![],
    };
    Ok(Some(spec.build().context("TLS towards server_socket")?))
}

fn server_tls_spec(cfg: &Config) -> anyhow::Result<Option<ServerTls>> {
    let Some(cert_file) = cfg.path("ssl_certificate_file") else {
        return Ok(None);
    };
    let ca_file = cfg.path("ssl_verify_file");
    let ca_dir = cfg.path("ssl_verify_path");
    let client_auth = if cfg.bool("ssl_verify_client") {
        if ca_file.is_none() && ca_dir.is_none() {
            anyhow::bail!("ssl_verify_client = yes needs ssl_verify_file or ssl_verify_path");
        }
        ClientAuth::Required
    } else {
        ClientAuth::Off
    };
    Ok(Some(ServerTls {
        cert_file,
        key_file: cfg.path("ssl_private_key_file"),
        ca_file,
        ca_dir,
        client_auth,
        tls13_only: cfg.str("tls_min_proto") == "tls1.3",
        ..Default::default()
    }))
}

/// The certificate for IMAPS/POP3S/STARTTLS. Missing material is fatal only
/// when an implicit-TLS listener is configured; else STARTTLS/STLS is off.
fn server_tls(cfg: &Config) -> anyhow::Result<Option<Arc<ReloadingServerConfig>>> {
    let needed = !cfg.listen("imaps_listen").is_empty() || !cfg.listen("pop3s_listen").is_empty();
    let loaded = server_tls_spec(cfg).and_then(|spec| match spec {
        Some(s) => Ok(Some(
            ReloadingServerConfig::new(s).context("ssl_certificate_file/ssl_private_key_file")?,
        )),
        None => Ok(None),
    });
    match loaded {
        Ok(Some(t)) => Ok(Some(Arc::new(t))),
        Ok(None) if needed => anyhow::bail!("imaps/pop3s listeners need ssl_certificate_file"),
        Ok(None) => Ok(None),
        Err(e) if needed => Err(e),
        Err(e) => {
            warn!("no TLS (STARTTLS/STLS not offered): {e:#}");
            Ok(None)
        }
    }
}

async fn run(cfg: Config) -> anyhow::Result<()> {
    let log = service::init_logging(&cfg, "gateway");
    let signals = service::signals();
    let client = StoreClient::new(ClientConfig {
        server_socket: cfg.str("server_socket").to_owned(),
        tls: node_tls(&cfg)?,
        timeout: STORE_TIMEOUT,
    })
    .context("server_socket")?;
    let tls = server_tls(&cfg)?;
    let trusted_edges =
        kc_gateway::net::parse_ranges(cfg.str("trusted_edge_addresses")).map_err(|bad| {
            anyhow::anyhow!("trusted_edge_addresses: not an address or CIDR range: {bad:?}")
        })?;
    let hostname = cfg
        .opt_str("server_hostname")
        .map(str::to_owned)
        .unwrap_or_else(system_hostname);
    let bound = listeners::bind(&cfg, &[Service::Imap, Service::Pop3])?;
    service::drop_privileges(&cfg).context("run_as_user/run_as_group")?;
    let ctx = Arc::new(GatewayContext {
        client,
        tls,
        settings: ArcSwap::from_pointee(Settings::from_config(&cfg)),
        trusted_edges,
        hostname,
        shutdown: signals.shutdown(),
        pop3_locks: Default::default(),
    });
    info!(
        server_socket = cfg.str("server_socket"),
        tls = ctx.tls.is_some(),
        "kc-gateway starting"
    );
    let tracker = Arc::new(Tracker::default());
    let mut accept_tasks = Vec::new();
    for l in bound {
        accept_tasks.push(tokio::spawn(listeners::serve(
            l,
            ctx.clone(),
            tracker.clone(),
        )));
    }
    let mut hup = signals.subscribe_hup();
    let mut shutdown = signals.shutdown();
    let mut current = cfg;
    loop {
        tokio::select! {
            r = hup.recv() => {
                if r.is_err() {
                    continue;
                }
                current = reload(current, &ctx, &log);
            }
            _ = shutdown.wait_for(|v| *v) => break,
        }
    }
    info!(open = tracker.live(), "shutting down");
    for t in accept_tasks {
        let _ = t.await;
    }
    if !service::drain(tracker.wait_idle(), DRAIN_LIMIT).await {
        warn!(
            open = tracker.live(),
            "closing sessions that did not finish"
        );
    }
    Ok(())
}

/// SIGHUP: new settings, TLS material and log settings; the old stay on error.
fn reload(cfg: Config, ctx: &GatewayContext, log: &service::LogGuard) -> Config {
    if let Some(t) = &ctx.tls {
        if let Err(e) = t.reload() {
            error!("TLS reload failed, keeping the old certificate: {e}");
        }
    }
    match cfg.reload() {
        Ok(new) => {
            for name in cfg.restart_required(&new) {
                warn!("{name} changed: takes effect after a restart");
            }
            if let Err(e) = log.reload(&new) {
                error!("cannot apply log settings: {e}");
            }
            let settings = Settings::from_config(&new);
            if *ctx.settings.load_full() != settings {
                info!("settings reloaded");
            }
            ctx.settings.store(Arc::new(settings));
            new
        }
        Err(e) => {
            error!("cannot reload configuration: {e}");
            if let Err(e) = log.reopen() {
                error!("cannot reopen log: {e}");
            }
            cfg
        }
    }
}
