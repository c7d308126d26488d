//! kc-server: the store node (KC's kopano-server).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use kc_configs::service::{self, StandardArgs};
use kc_configs::{schemas, Config};
use kc_server::audit::{self, AuditLog};
use kc_server::lmtp;
use kc_server::lmtp_store::NodeDelivery;
use kc_server::net::{self, NetLimits, Shared};
use kc_server::startup;
use tracing::{error, info};

/// The kc store node: KC's SOAP service (urn:zarafa) with multi-server redirects.
#[derive(Parser)]
#[command(name = "kc-server", version)]
struct Cli {
    #[command(flatten)]
    std: StandardArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.std.handle_check_config(schemas::server());
    kc_certs::tls::install_crypto_provider();
    let cfg = match cli.std.load(schemas::server()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kc-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The uid that started us, before any privilege drop (audit "startup by user").
    // SAFETY: getuid has no preconditions.
    let start_uid = unsafe { libc::getuid() };
    if !cli.std.foreground {
        if let Err(e) = service::daemonize() {
            eprintln!("kc-server: cannot daemonize: {e}");
            return ExitCode::FAILURE;
        }
    }
    let _pid = match cfg.path("pid_file") {
        Some(p) if !cli.std.foreground => match service::write_pid_file(&p) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("kc-server: pid file {}: {e}", p.display());
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let threads = usize::try_from(cfg.int("threads")).unwrap_or(0);
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if threads > 0 {
        rt.worker_threads(threads);
    }
    let rt = match rt.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kc-server: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cfg, start_uid)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            eprintln!("kc-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cfg: Config, start_uid: u32) -> anyhow::Result<()> {
    let log = service::init_logging(&cfg, "server");
    let signals = service::signals();
    let audit_log = AuditLog::new(&startup::audit_config(&cfg));
    audit_log.write(&audit::startup_line(start_uid));
    let node = startup::build_node(&cfg, audit_log).await?;
    let (listeners, mut sockets) = startup::bind_listeners(&cfg).await?;
    let (lmtp_listeners, lmtp_sockets) = startup::bind_lmtp(&cfg)?;
    sockets.extend(lmtp_sockets);
    service::drop_privileges(&cfg)?;
    info!(
        server_name = %node.settings.server_name,
        plugin = node.plugin.name(),
        distributed = node.settings.distributed,
        "kc-server starting"
    );
    let shared = Arc::new(Shared {
        node: node.clone(),
        limits: NetLimits {
            header_read_timeout: cfg.duration("server_read_timeout"),
            ..NetLimits::default()
        },
    });
    let mut tasks = vec![];
    for l in listeners {
        info!("listening on {}", l.describe());
        tasks.push(tokio::spawn(net::serve(
            l,
            shared.clone(),
            signals.shutdown(),
        )));
    }
    let lmtp_config = Arc::new(startup::lmtp_config(&cfg, &node));
    let delivery = Arc::new(NodeDelivery::new(node.clone()));
    for l in lmtp_listeners {
        tasks.push(tokio::spawn(lmtp::serve(
            l,
            delivery.clone(),
            lmtp_config.clone(),
            signals.shutdown(),
        )));
    }
    tasks.push(tokio::spawn(kc_server::purge::run_purge_timer(
        node.clone(),
        kc_server::purge::lifetime_days(&cfg),
        signals.shutdown(),
    )));
    let purger = {
        let node = node.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let n = node.sessions.purge_expired();
                if n > 0 {
                    tracing::debug!(expired = n, "sessions purged");
                }
            }
        })
    };
    let mut hup = signals.subscribe_hup();
    let mut shutdown = signals.shutdown();
    loop {
        tokio::select! {
            r = hup.recv() => {
                if r.is_err() { continue; }
                node.audit.write(&audit::signal_line(libc::SIGHUP));
                node.audit.reopen();
                match cfg.reload() {
                    Ok(new) => {
                        node.set_proxy_header(new.str("proxy_header"));
                        info!(proxy_header = new.str("proxy_header"), "configuration reloaded");
                    }
                    Err(e) => error!("cannot reload configuration: {e}"),
                }
                if let Err(e) = log.reopen() {
                    error!("cannot reopen log: {e}");
                }
            }
            _ = shutdown.wait_for(|v| *v) => break,
        }
    }
    purger.abort();
    node.audit.write(&audit::signal_line(libc::SIGTERM));
    info!("shutting down");
    service::drain(
        async {
            for t in tasks {
                let _ = t.await;
            }
        },
        Duration::from_secs(5),
    )
    .await;
    for s in sockets {
        let _ = std::fs::remove_file(s);
    }
    Ok(())
}
