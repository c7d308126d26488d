//! The listening sockets of gateway.cfg (`imap_listen`, `imaps_listen`,
//! `pop3_listen`, `pop3s_listen`), accept loops, the implicit-TLS handshake
//! of IMAPS/POP3S, and the count of live connections for a graceful drain.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kc_configs::service::{BindError, Listeners};
use kc_configs::Config;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tracing::{info, warn, Instrument};

use crate::context::GatewayContext;
use crate::net::Conn;

/// Longest TLS handshake: IMAPS/POP3S on connect, IMAP STARTTLS and POP3
/// STLS (see [`crate::net::accept_tls`]).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Which protocol a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// IMAP.
    Imap,
    /// POP3.
    Pop3,
}

impl Service {
    /// Lower-case name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Service::Imap => "imap",
            Service::Pop3 => "pop3",
        }
    }
}

/// One bound socket.
pub struct Listener {
    /// The protocol.
    pub service: Service,
    /// TLS from the first byte (IMAPS, POP3S).
    pub implicit_tls: bool,
    /// The option that configured it, for messages.
    pub option: &'static str,
    /// The socket.
    pub socket: TcpListener,
}

impl Listener {
    /// `imap on 127.0.0.1:143` and the like.
    pub fn describe(&self) -> String {
        let addr = self
            .socket
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".into());
        let tls = if self.implicit_tls { "s" } else { "" };
        format!("{}{tls} on {addr}", self.service.name())
    }
}

/// The four listener options with their service and TLS mode.
pub const OPTIONS: [(&str, Service, bool); 4] = [
    ("imap_listen", Service::Imap, false),
    ("imaps_listen", Service::Imap, true),
    ("pop3_listen", Service::Pop3, false),
    ("pop3s_listen", Service::Pop3, true),
];

/// Binds every configured listener of the given services through the
/// daemon skeleton's [`Listeners`] (inside the tokio runtime, before
/// privileges are dropped).
pub fn bind(
    cfg: &Config,
    services: &[Service],
    listeners: &mut Listeners,
) -> Result<Vec<Listener>, BindError> {
    let mut out = Vec::new();
    for (option, service, implicit_tls) in OPTIONS {
        if !services.contains(&service) {
            continue;
        }
        for socket in listeners.tcp_option(cfg, option)? {
            out.push(Listener {
                service,
                implicit_tls,
                option,
                socket,
            });
        }
    }
    Ok(out)
}

/// Counts live connections so shutdown can wait for them.
#[derive(Default)]
pub struct Tracker {
    live: AtomicUsize,
    idle: Notify,
}

/// Held by a connection task; its drop counts the connection out.
pub struct TrackGuard(Arc<Tracker>);

impl Drop for TrackGuard {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Tracker {
    /// Counts a new connection in.
    pub fn enter(self: &Arc<Self>) -> TrackGuard {
        self.live.fetch_add(1, Ordering::AcqRel);
        TrackGuard(self.clone())
    }

    /// Connections now open.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Resolves once no connection is open.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.live() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Accepts until shutdown; every connection runs in its own task.
pub async fn serve(l: Listener, ctx: Arc<GatewayContext>, tracker: Arc<Tracker>) {
    let mut shutdown = ctx.shutdown.clone();
    info!("listening: {}", l.describe());
    loop {
        let accepted = tokio::select! {
            r = l.socket.accept() => Some(r),
            _ = shutdown.wait_for(|v| *v) => None,
        };
        let (tcp, peer) = match accepted {
            None => break,
            Some(Ok(x)) => x,
            Some(Err(e)) => {
                // EMFILE and the like: back off instead of spinning.
                warn!("accept on {}: {e}", l.describe());
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let guard = tracker.enter();
        let ctx = ctx.clone();
        let (service, implicit_tls) = (l.service, l.implicit_tls);
        let span = tracing::info_span!("conn", service = service.name(), %peer, tls = implicit_tls);
        tokio::spawn(
            async move {
                let _guard = guard;
                let conn = if implicit_tls {
                    match handshake(tcp, &ctx).await {
                        Some(c) => c,
                        None => return,
                    }
                } else {
                    Conn::Plain(tcp)
                };
                dispatch(service, conn, peer, ctx).await;
            }
            .instrument(span),
        );
    }
}

async fn handshake(tcp: tokio::net::TcpStream, ctx: &GatewayContext) -> Option<Conn> {
    let Some(acceptor) = ctx.tls_acceptor() else {
        warn!("TLS listener without certificate");
        return None;
    };
    match crate::net::accept_tls(Conn::Plain(tcp), &acceptor, HANDSHAKE_TIMEOUT).await {
        Ok(c) => Some(c),
        Err(e) => {
            match kc_certs::tls::handshake_error(&e) {
                Some(t) => info!("TLS handshake failed: {t}"),
                None => info!("TLS handshake failed: {e}"),
            }
            None
        }
    }
}

async fn dispatch(service: Service, conn: Conn, peer: SocketAddr, ctx: Arc<GatewayContext>) {
    match service {
        Service::Pop3 => crate::pop3::server::serve_connection(conn, peer, ctx).await,
        Service::Imap => crate::imap::server::serve_connection(conn, peer, ctx).await,
    }
}
