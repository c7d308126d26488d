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
use kc_configs::service::{self, Daemon, ServiceError, Signals, StandardArgs, Startup};
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
    kc_certs::tls::install_crypto_provider();
    service::run::<Gateway>(Daemon {
        schema: schemas::gateway(),
        args: cli.std,
        drain_limit: DRAIN_LIMIT,
    })
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

/// The gateway with its bound listeners, then its accept tasks.
struct Gateway {
    ctx: Arc<GatewayContext>,
    server_socket: String,
    bound: Vec<listeners::Listener>,
    tracker: Arc<Tracker>,
    accept_tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl service::Service for Gateway {
    async fn start(s: &mut Startup) -> Result<Self, ServiceError> {
        let cfg = &s.config;
        let client = StoreClient::new(ClientConfig {
            server_socket: cfg.str("server_socket").to_owned(),
            tls: node_tls(cfg)?,
            timeout: STORE_TIMEOUT,
        })
        .context("server_socket")?;
        let tls = server_tls(cfg)?;
        let trusted_edges = kc_gateway::net::parse_ranges(cfg.str("trusted_edge_addresses"))
            .map_err(|bad| {
                anyhow::anyhow!("trusted_edge_addresses: not an address or CIDR range: {bad:?}")
            })?;
        let hostname = cfg
            .opt_str("server_hostname")
            .map(str::to_owned)
            .unwrap_or_else(system_hostname);
        let bound = listeners::bind(cfg, &[Service::Imap, Service::Pop3], &mut s.listeners)?;
        let ctx = Arc::new(GatewayContext {
            client,
            tls,
            settings: ArcSwap::from_pointee(Settings::from_config(cfg)),
            trusted_edges,
            hostname,
            shutdown: s.signals.shutdown(),
            pop3_locks: Default::default(),
        });
        Ok(Gateway {
            ctx,
            server_socket: cfg.str("server_socket").to_owned(),
            bound,
            tracker: Arc::new(Tracker::default()),
            accept_tasks: Vec::new(),
        })
    }

    async fn serve(&mut self, _signals: &Signals) -> Result<(), ServiceError> {
        info!(
            server_socket = %self.server_socket,
            tls = self.ctx.tls.is_some(),
            "kc-gateway starting"
        );
        for l in self.bound.drain(..) {
            self.accept_tasks.push(tokio::spawn(listeners::serve(
                l,
                self.ctx.clone(),
                self.tracker.clone(),
            )));
        }
        Ok(())
    }

    /// SIGHUP: the TLS material always, the settings when the file could
    /// be read again; the old stay on error.
    fn reload(&mut self, reloaded: Option<&Config>) {
        if let Some(t) = &self.ctx.tls {
            if let Err(e) = t.reload() {
                error!("TLS reload failed, keeping the old certificate: {e}");
            }
        }
        if let Some(new) = reloaded {
            let settings = Settings::from_config(new);
            if *self.ctx.settings.load_full() != settings {
                info!("settings reloaded");
            }
            self.ctx.settings.store(Arc::new(settings));
        }
    }

    async fn drain(&mut self) {
        info!(open = self.tracker.live(), "shutting down");
        for t in self.accept_tasks.drain(..) {
            let _ = t.await;
        }
        self.tracker.wait_idle().await;
    }

    fn stop(self) {
        if self.tracker.live() > 0 {
            warn!(
                open = self.tracker.live(),
                "closing sessions that did not finish"
            );
        }
    }
}
