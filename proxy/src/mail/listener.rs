//! The mail listeners: bind at start-up, accept, cap connections without a
//! login per client address, run the implicit-TLS handshake (993/995), and
//! hand each connection to its protocol's pre-login session.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use pingora_core::server::ShutdownWatch;
use pingora_core::services::background::BackgroundService;
use tokio::net::TcpStream;
use tracing::Instrument;

use super::session::{MailContext, Session};
use super::stream::MailStream;
use super::upstream::ClientInfo;
use super::Protocol;

/// One bound mail listener.
#[derive(Debug)]
pub struct MailListener {
    /// The bound socket (non-blocking).
    pub listener: std::net::TcpListener,
    /// IMAP or POP3.
    pub protocol: Protocol,
    /// TLS from the first byte (993/995) rather than STARTTLS/STLS.
    pub implicit_tls: bool,
    /// Server TLS configuration (the proxy's certificates); `None`: no TLS
    /// at all on this listener.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl MailListener {
    /// Binds `addr` now, so that a port in use fails start-up.
    pub fn bind(
        addr: SocketAddr,
        protocol: Protocol,
        implicit_tls: bool,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> io::Result<MailListener> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(MailListener {
            listener,
            protocol,
            implicit_tls,
            tls,
        })
    }
}

/// The pingora background service running every mail listener.
pub struct MailService {
    listeners: Mutex<Vec<MailListener>>,
    ctx: Arc<MailContext>,
}

impl MailService {
    /// A service for `listeners`.
    pub fn new(listeners: Vec<MailListener>, ctx: Arc<MailContext>) -> MailService {
        MailService {
            listeners: Mutex::new(listeners),
            ctx,
        }
    }
}

#[async_trait]
impl BackgroundService for MailService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let listeners = std::mem::take(&mut *self.listeners.lock());
        let mut loops = tokio::task::JoinSet::new();
        for l in listeners {
            let listener = match tokio::net::TcpListener::from_std(l.listener) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(protocol = l.protocol.name(), "mail listener unusable: {e}");
                    continue;
                }
            };
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(
                    %addr,
                    protocol = l.protocol.name(),
                    tls = l.implicit_tls,
                    "mail listener ready"
                );
            }
            let ctx = self.ctx.clone();
            loops.spawn(accept_loop(
                listener,
                l.protocol,
                l.implicit_tls,
                l.tls,
                ctx,
            ));
        }
        let _ = shutdown.changed().await;
        loops.abort_all();
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    protocol: Protocol,
    implicit_tls: bool,
    tls: Option<Arc<rustls::ServerConfig>>,
    ctx: Arc<MailContext>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(protocol = protocol.name(), "accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let local = match tcp.local_addr() {
            Ok(a) => a,
            Err(_) => continue,
        };
        let _ = tcp.set_nodelay(true);
        let span = tracing::info_span!(
            "mail",
            protocol = protocol.name(),
            client = %peer,
            user = tracing::field::Empty
        );
        let ctx = ctx.clone();
        let tls = tls.clone();
        tokio::spawn(
            async move {
                let client = ClientInfo { peer, local };
                serve(tcp, client, protocol, implicit_tls, tls, ctx).await;
            }
            .instrument(span),
        );
    }
}

/// The line that turns a client away when its address holds too many
/// connections without a login.
fn too_many_line(protocol: Protocol) -> &'static [u8] {
    match protocol {
        Protocol::Imap => b"* BYE Too many connections from your address\r\n",
        Protocol::Pop3 => b"-ERR [SYS/TEMP] Too many connections from your address\r\n",
    }
}

async fn serve(
    tcp: TcpStream,
    client: ClientInfo,
    protocol: Protocol,
    implicit_tls: bool,
    tls: Option<Arc<rustls::ServerConfig>>,
    ctx: Arc<MailContext>,
) {
    ctx.shared
        .metrics
        .mail_sessions
        .with_label_values(&[protocol.name()])
        .inc();
    let Some(slot) = ctx.preauth.acquire(client.peer.ip()) else {
        tracing::warn!(
            limit = ctx.cfg.max_preauth_per_ip,
            "too many connections without login from this address; closed"
        );
        if !implicit_tls {
            let mut tcp = tcp;
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(1),
                tokio::io::AsyncWriteExt::write_all(&mut tcp, too_many_line(protocol)),
            )
            .await;
        }
        return;
    };
    let mut stream = MailStream::Plain(tcp);
    if implicit_tls {
        let Some(cfg) = tls.clone() else {
            return;
        };
        stream = match super::stream::accept_tls(stream, cfg, ctx.cfg.command_timeout).await {
            Ok(s) => s,
            Err(e) => {
                let why = kc_certs::tls::handshake_error(&e)
                    .map_or_else(|| e.to_string(), |t| t.to_string());
                tracing::debug!("TLS handshake failed: {why}");
                return;
            }
        };
        ctx.shared.metrics.tls_handshakes.inc();
    }
    let s = Session::new(ctx, client, protocol, tls, slot);
    let result = match protocol {
        Protocol::Imap => s.imap(stream).await,
        Protocol::Pop3 => s.pop3(stream).await,
    };
    match result {
        Ok(()) => tracing::debug!("connection closed"),
        Err(e) => tracing::debug!("connection ended: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_now_and_refuses_a_port_in_use() {
        let l = MailListener::bind("127.0.0.1:0".parse().unwrap(), Protocol::Imap, false, None)
            .unwrap();
        let addr = l.listener.local_addr().unwrap();
        assert!(MailListener::bind(addr, Protocol::Pop3, true, None).is_err());
        assert!(too_many_line(Protocol::Imap).starts_with(b"* BYE"));
        assert!(too_many_line(Protocol::Pop3).starts_with(b"-ERR [SYS/TEMP]"));
    }
}
