//! SIGHUP (reload) and SIGTERM/SIGINT (shutdown) for tokio programs, and a
//! bounded graceful drain.

use std::future::Future;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{broadcast, watch};

/// Process signals as channels. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Signals {
    hup: broadcast::Sender<()>,
    shutdown_tx: watch::Sender<bool>,
    shutdown: watch::Receiver<bool>,
}

/// Registers the handlers and starts the task that forwards signals. Must be
/// called inside a tokio runtime. A handler that cannot be registered is
/// logged; that signal then keeps its default action.
pub fn signals() -> Signals {
    let (hup, _) = broadcast::channel(8);
    let (shutdown_tx, shutdown) = watch::channel(false);
    let s = Signals {
        hup,
        shutdown_tx,
        shutdown,
    };
    let register = |kind: SignalKind, name: &str| match signal(kind) {
        Ok(sig) => Some(sig),
        Err(e) => {
            tracing::error!("cannot handle {name}: {e}");
            None
        }
    };
    let mut sighup = register(SignalKind::hangup(), "SIGHUP");
    let mut sigterm = register(SignalKind::terminate(), "SIGTERM");
    let mut sigint = register(SignalKind::interrupt(), "SIGINT");
    let fwd = s.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(()) = async { sighup.as_mut()?.recv().await } => {
                    tracing::info!("SIGHUP: reloading");
                    let _ = fwd.hup.send(());
                }
                Some(()) = async { sigterm.as_mut()?.recv().await } => {
                    tracing::info!("SIGTERM: shutting down");
                    fwd.trigger_shutdown();
                }
                Some(()) = async { sigint.as_mut()?.recv().await } => {
                    tracing::info!("SIGINT: shutting down");
                    fwd.trigger_shutdown();
                }
                else => break,
            }
        }
    });
    s
}

impl Signals {
    /// A receiver that gets `()` on every SIGHUP after this call.
    pub fn subscribe_hup(&self) -> broadcast::Receiver<()> {
        self.hup.subscribe()
    }

    /// Watch that turns `true` once on SIGTERM/SIGINT (or [`Self::trigger_shutdown`]).
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }

    /// Whether shutdown has been requested.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves when shutdown is requested (at once if it already was).
    pub async fn wait_shutdown(&self) {
        let mut rx = self.shutdown.clone();
        // Err: all senders gone, which cannot happen while `self` lives.
        let _ = rx.wait_for(|v| *v).await;
    }

    /// Requests shutdown as if SIGTERM had arrived.
    pub fn trigger_shutdown(&self) {
        self.shutdown_tx.send_replace(true);
    }

    /// Requests a reload as if SIGHUP had arrived.
    pub fn trigger_hup(&self) {
        let _ = self.hup.send(());
    }
}

/// Runs `work` (e.g. waiting for in-flight connections to finish) for at
/// most `limit`. Returns `true` if it completed, `false` if time ran out.
pub async fn drain<F: Future<Output = ()>>(work: F, limit: Duration) -> bool {
    match tokio::time::timeout(limit, work).await {
        Ok(()) => true,
        Err(_) => {
            tracing::warn!(
                "graceful shutdown did not finish within {limit:?}; closing remaining connections"
            );
            false
        }
    }
}
