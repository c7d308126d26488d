//! The LMTP listeners (`lmtp_listen`: TCP, or `unix:/path` as in KC manual
//! §5.11.1): an accept loop, one task per connection driving a
//! [`Session`], read timeouts, a connection limit and graceful shutdown.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use kc_configs::ListenAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tracing::{debug, info, info_span, warn, Instrument};

use super::delivery::Delivery;
use super::reply::Reply;
use super::session::{Session, SessionConfig};

/// Listener settings.
#[derive(Debug, Clone)]
pub struct LmtpConfig {
    /// Per-connection protocol limits.
    pub session: Arc<SessionConfig>,
    /// Longest wait for client input (RFC 5321 §4.5.3.2.7 suggests 5
    /// minutes); also bounds each write.
    pub read_timeout: Duration,
    /// Concurrent connections; more are answered 421 and closed.
    pub max_connections: usize,
    /// Size of the per-connection read buffer.
    pub read_buffer: usize,
}

impl Default for LmtpConfig {
    fn default() -> Self {
        LmtpConfig {
            session: Arc::new(SessionConfig::default()),
            read_timeout: Duration::from_secs(300),
            max_connections: 256,
            read_buffer: 64 * 1024,
        }
    }
}

/// A bound LMTP listener.
#[derive(Debug)]
pub enum LmtpListener {
    /// TCP, e.g. `127.0.0.1:2003`.
    Tcp(TcpListener),
    /// A unix socket, e.g. `unix:/var/spool/kopano/dagent.sock`.
    Unix(UnixListener),
}

impl LmtpListener {
    /// Binds one `lmtp_listen` entry with the shared kc-configs socket code
    /// (`%iface`, dual-stack `*`, stale unix sockets replaced); a TCP name
    /// may give several sockets. Must run inside a tokio runtime.
    ///
    /// Access to a unix socket is governed by its directory, which the
    /// administrator prepares (manual §5.11.1: owned by kopano, ACL for
    /// postfix).
    pub fn bind(addr: &ListenAddr) -> io::Result<Vec<LmtpListener>> {
        match addr {
            ListenAddr::Unix(_) => Ok(vec![LmtpListener::Unix(UnixListener::from_std(
                addr.bind_unix()?,
            )?)]),
            ListenAddr::Tcp { .. } => addr
                .bind_tcp()?
                .into_iter()
                .map(|l| TcpListener::from_std(l).map(LmtpListener::Tcp))
                .collect(),
        }
    }

    /// The bound address, for logs.
    pub fn local_addr(&self) -> String {
        match self {
            LmtpListener::Tcp(l) => l
                .local_addr()
                .map_or_else(|e| format!("tcp:?({e})"), |a| a.to_string()),
            LmtpListener::Unix(l) => match l.local_addr() {
                Ok(a) => match a.as_pathname() {
                    Some(p) => format!("unix:{}", p.display()),
                    None => "unix:(unnamed)".into(),
                },
                Err(e) => format!("unix:?({e})"),
            },
        }
    }
}

/// Accepts connections until `shutdown` turns true (or its sender is
/// dropped), then waits for open connections to finish: idle ones are
/// closed with 421 at once, one inside DATA after its replies.
pub async fn serve<D: Delivery>(
    listener: LmtpListener,
    delivery: Arc<D>,
    config: Arc<LmtpConfig>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let mut tasks = JoinSet::new();
    let local = listener.local_addr();
    info!(listen = %local, "LMTP listener started");
    loop {
        if *shutdown.borrow_and_update() {
            break;
        }
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            accepted = accept(&listener) => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and friends: pause instead of spinning.
                        warn!(listen = %local, error = %e, "LMTP accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let permit = slots.clone().try_acquire_owned().ok();
                let delivery = delivery.clone();
                let config = config.clone();
                let shutdown = shutdown.clone();
                let span = info_span!("lmtp", peer = %peer);
                tasks.spawn(
                    async move {
                        match (permit, stream) {
                            (Some(_permit), Stream::Tcp(s)) => {
                                serve_connection(s, delivery, &config, shutdown).await
                            }
                            (Some(_permit), Stream::Unix(s)) => {
                                serve_connection(s, delivery, &config, shutdown).await
                            }
                            (None, Stream::Tcp(mut s)) => refuse(&mut s, &config).await,
                            (None, Stream::Unix(mut s)) => refuse(&mut s, &config).await,
                        }
                    }
                    .instrument(span),
                );
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    info!(listen = %local, open = tasks.len(), "LMTP listener stopping");
    while tasks.join_next().await.is_some() {}
}

enum Stream {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn accept(listener: &LmtpListener) -> io::Result<(Stream, String)> {
    match listener {
        LmtpListener::Tcp(l) => {
            let (s, peer) = l.accept().await?;
            // Replies are small and written once per batch.
            s.set_nodelay(true)?;
            Ok((Stream::Tcp(s), peer.to_string()))
        }
        LmtpListener::Unix(l) => {
            let (s, _) = l.accept().await?;
            let peer = match s.peer_cred() {
                Ok(c) => format!("unix:uid={}", c.uid()),
                Err(_) => "unix".to_owned(),
            };
            Ok((Stream::Unix(s), peer))
        }
    }
}

async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S, config: &LmtpConfig) {
    warn!("LMTP connection limit reached");
    let reply = Reply::too_many_connections(&config.session.hostname).to_bytes();
    let _ = tokio::time::timeout(config.read_timeout, stream.write_all(&reply)).await;
    let _ = stream.shutdown().await;
}

/// Runs one LMTP conversation on `stream` until QUIT, EOF, an I/O error,
/// a read timeout (421 4.4.2) or shutdown (421 4.3.2 when idle).
pub async fn serve_connection<S, D>(
    mut stream: S,
    delivery: Arc<D>,
    config: &LmtpConfig,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    D: Delivery,
{
    let hostname = config.session.hostname.clone();
    let mut session = Session::new(delivery, config.session.clone());
    let mut out = session.greeting().to_bytes();
    let mut buf = vec![0u8; config.read_buffer.max(1)];
    let mut draining = *shutdown.borrow_and_update();
    debug!("LMTP connection opened");
    loop {
        if !out.is_empty() {
            match tokio::time::timeout(config.read_timeout, stream.write_all(&out)).await {
                Ok(Ok(())) => out.clear(),
                Ok(Err(e)) => {
                    debug!(error = %e, "LMTP write failed");
                    return;
                }
                Err(_) => {
                    debug!("LMTP write timed out");
                    return;
                }
            }
        }
        if session.is_closed() {
            break;
        }
        if draining && session.is_idle() {
            Reply::shutting_down(&hostname).write_to(&mut out);
            let _ = tokio::time::timeout(config.read_timeout, stream.write_all(&out)).await;
            break;
        }
        let read = tokio::select! {
            r = tokio::time::timeout(config.read_timeout, stream.read(&mut buf)) => r,
            _ = shutdown.changed(), if !draining => {
                // A dropped sender counts as shutdown too.
                draining = true;
                continue;
            }
        };
        let n = match read {
            Ok(Ok(0)) => {
                if !session.is_idle() {
                    debug!("LMTP client closed mid-command or mid-DATA; nothing acknowledged");
                }
                break;
            }
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                debug!(error = %e, "LMTP read failed");
                break;
            }
            Err(_) => {
                info!("LMTP client timed out");
                Reply::timeout(&hostname).write_to(&mut out);
                let _ = tokio::time::timeout(config.read_timeout, stream.write_all(&out)).await;
                break;
            }
        };
        // The replies go out at the top of the loop; a closed session
        // leaves after that write.
        session.ingest(&buf[..n], &mut out).await;
    }
    let _ = stream.shutdown().await;
    debug!("LMTP connection closed");
}
