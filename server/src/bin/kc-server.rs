//! kc-server: the store node (KC's kopano-server), on the daemon skeleton
//! (`kc_configs::service`): the node is built and its listeners bound in
//! [`Service::start`], served in [`Service::serve`].

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use kc_configs::service::{self, Daemon, Service, ServiceError, Signals, StandardArgs, Startup};
use kc_configs::{schemas, Config};
use kc_server::audit::{self, AuditLog};
use kc_server::lmtp::{self, LmtpListener};
use kc_server::lmtp_store::NodeDelivery;
use kc_server::net::{self, Listener, NetLimits, Shared};
use kc_server::node::Node;
use kc_server::startup;
use tokio::task::JoinHandle;
use tracing::{error, info};

/// Longest wait for open connections at shutdown.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// The kc store node: KC's SOAP service (urn:zarafa) with multi-server redirects.
#[derive(Parser)]
#[command(name = "kc-server", version)]
struct Cli {
    #[command(flatten)]
    std: StandardArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    kc_certs::tls::install_crypto_provider();
    service::run::<KcServer>(Daemon {
        schema: schemas::server(),
        args: cli.std,
        drain_limit: DRAIN_LIMIT,
    })
}

/// The node with its bound listeners, then its running tasks.
struct KcServer {
    cfg: Config,
    node: Arc<Node>,
    listeners: Vec<Listener>,
    lmtp_listeners: Vec<LmtpListener>,
    tasks: Vec<JoinHandle<()>>,
    session_purger: Option<JoinHandle<()>>,
}

impl Service for KcServer {
    fn worker_threads(cfg: &Config) -> usize {
        usize::try_from(cfg.int("threads")).unwrap_or(0)
    }

    async fn start(s: &mut Startup) -> Result<Self, ServiceError> {
        let cfg = &s.config;
        let audit_log = AuditLog::new(&startup::audit_config(cfg));
        audit_log.write(&audit::startup_line(s.start_uid));
        let node = startup::build_node(cfg, audit_log).await?;
        let listeners = startup::bind_listeners(cfg, &mut s.listeners)?;
        let lmtp_listeners = startup::bind_lmtp(cfg, &mut s.listeners)?;
        Ok(KcServer {
            cfg: cfg.clone(),
            node,
            listeners,
            lmtp_listeners,
            tasks: Vec::new(),
            session_purger: None,
        })
    }

    async fn serve(&mut self, signals: &Signals) -> Result<(), ServiceError> {
        let node = &self.node;
        info!(
            server_name = %node.settings.server_name,
            plugin = node.plugin.name(),
            distributed = node.settings.distributed,
            "kc-server starting"
        );
        let shared = Arc::new(Shared {
            node: node.clone(),
            limits: NetLimits {
                header_read_timeout: self.cfg.duration("server_read_timeout"),
                ..NetLimits::default()
            },
        });
        for l in self.listeners.drain(..) {
            info!("listening on {}", l.describe());
            self.tasks.push(tokio::spawn(net::serve(
                l,
                shared.clone(),
                signals.shutdown(),
            )));
        }
        let lmtp_config = Arc::new(startup::lmtp_config(&self.cfg, node));
        let delivery = Arc::new(NodeDelivery::new(node.clone()));
        for l in self.lmtp_listeners.drain(..) {
            self.tasks.push(tokio::spawn(lmtp::serve(
                l,
                delivery.clone(),
                lmtp_config.clone(),
                signals.shutdown(),
            )));
        }
        self.tasks
            .push(tokio::spawn(kc_server::purge::run_purge_timer(
                node.clone(),
                kc_server::purge::lifetime_days(&self.cfg),
                signals.shutdown(),
            )));
        let sessions = node.clone();
        self.session_purger = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let n = sessions.sessions.purge_expired();
                if n > 0 {
                    tracing::debug!(expired = n, "sessions purged");
                }
            }
        }));
        Ok(())
    }

    fn reload(&mut self, reloaded: Option<&Config>) {
        self.node.audit.write(&audit::signal_line(libc::SIGHUP));
        self.node.audit.reopen();
        if let Some(new) = reloaded {
            self.node.set_proxy_header(new.str("proxy_header"));
            info!(proxy_header = new.str("proxy_header"), "proxy header");
            self.cfg = new.clone();
        }
    }

    async fn drain(&mut self) {
        if let Some(p) = self.session_purger.take() {
            p.abort();
        }
        self.node.audit.write(&audit::signal_line(libc::SIGTERM));
        for t in self.tasks.drain(..) {
            if let Err(e) = t.await {
                error!("task ended abnormally: {e}");
            }
        }
    }
}
