//! [`MaybeTls`]: a TCP connection that is plain or TLS, as one byte stream.
//! Every kc service needs one: kc-gateway upgrades client connections
//! (STARTTLS, STLS), kc-proxy's mail edge upgrades clients and connects to
//! gateways, and kc-server's store client connects to nodes over http(s).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// A TCP connection, plain or with TLS in either role.
pub enum MaybeTls {
    /// Plain TCP (also before STARTTLS).
    Plain(TcpStream),
    /// TLS accepted from a client.
    Server(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// TLS towards a server.
    Client(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl std::fmt::Debug for MaybeTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MaybeTls::Plain(_) => "MaybeTls::Plain",
            MaybeTls::Server(_) => "MaybeTls::Server",
            MaybeTls::Client(_) => "MaybeTls::Client",
        })
    }
}

fn already_tls() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "TLS is already active")
}

impl MaybeTls {
    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        !matches!(self, MaybeTls::Plain(_))
    }

    /// The TCP connection underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTls::Plain(s) => s,
            MaybeTls::Server(s) => s.get_ref().0,
            MaybeTls::Client(s) => s.get_ref().0,
        }
    }

    /// The peer's verified certificate chain (leaf first), when it sent one.
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        match self {
            MaybeTls::Plain(_) => None,
            MaybeTls::Server(s) => s.get_ref().1.peer_certificates(),
            MaybeTls::Client(s) => s.get_ref().1.peer_certificates(),
        }
    }

    /// Runs the server handshake on a plain connection (implicit TLS,
    /// STARTTLS). After STARTTLS the caller must discard whatever it read
    /// before (no plaintext command injection, RFC 2595 §3.1).
    pub async fn accept(self, acceptor: &TlsAcceptor) -> io::Result<MaybeTls> {
        match self {
            MaybeTls::Plain(tcp) => Ok(MaybeTls::Server(Box::new(acceptor.accept(tcp).await?))),
            _ => Err(already_tls()),
        }
    }

    /// Runs the client handshake on a plain connection.
    pub async fn connect(
        self,
        connector: &TlsConnector,
        name: ServerName<'static>,
    ) -> io::Result<MaybeTls> {
        match self {
            MaybeTls::Plain(tcp) => Ok(MaybeTls::Client(Box::new(
                connector.connect(name, tcp).await?,
            ))),
            _ => Err(already_tls()),
        }
    }

    /// The stream that reads and writes, whatever the variant.
    fn io(self: Pin<&mut Self>) -> Pin<&mut (dyn AsyncStream + Unpin)> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s),
            MaybeTls::Server(s) => Pin::new(s.as_mut()),
            MaybeTls::Client(s) => Pin::new(s.as_mut()),
        }
    }
}

/// Object-safe union of the two tokio I/O traits.
trait AsyncStream: AsyncRead + AsyncWrite {}
impl<T: AsyncRead + AsyncWrite> AsyncStream for T {}

impl AsyncRead for MaybeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io().poll_read(cx, buf)
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io().poll_shutdown(cx)
    }
}
