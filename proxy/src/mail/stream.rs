//! The byte streams of a mail session: a client connection that may be
//! upgraded by STARTTLS/STLS, or a node connection (plain or TLS), behind
//! one type so that the relay is the same for all of them.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::line::{Line, LineReader};

/// One side of a mail session.
pub enum MailStream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS accepted from a client.
    Server(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// TLS towards a node.
    Client(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl std::fmt::Debug for MailStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MailStream::Plain(_) => "MailStream::Plain",
            MailStream::Server(_) => "MailStream::Server",
            MailStream::Client(_) => "MailStream::Client",
        })
    }
}

impl MailStream {
    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        !matches!(self, MailStream::Plain(_))
    }

    /// Accepts TLS on a plain client connection (implicit TLS or STARTTLS).
    pub async fn accept_tls(
        self,
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> io::Result<MailStream> {
        let MailStream::Plain(tcp) = self else {
            return Err(io::Error::other("TLS is already active"));
        };
        let accept = tokio_rustls::TlsAcceptor::from(config).accept(tcp);
        let tls = tokio::time::timeout(timeout, accept)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        Ok(MailStream::Server(Box::new(tls)))
    }

    /// Starts TLS towards a node.
    pub async fn connect_tls(
        self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        timeout: Duration,
    ) -> io::Result<MailStream> {
        let MailStream::Plain(tcp) = self else {
            return Err(io::Error::other("TLS is already active"));
        };
        let connect = tokio_rustls::TlsConnector::from(config).connect(name, tcp);
        let tls = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        Ok(MailStream::Client(Box::new(tls)))
    }
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MailStream::Server(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            MailStream::Client(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MailStream::Server(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            MailStream::Client(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MailStream::Server(s) => Pin::new(s.as_mut()).poll_flush(cx),
            MailStream::Client(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MailStream::Server(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            MailStream::Client(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Bytes read from the socket per call.
pub const READ_CHUNK: usize = 4096;

/// Reads once (at most [`READ_CHUNK`] bytes) within `timeout`. `Ok(None)`
/// at end of stream.
pub async fn read_some(s: &mut MailStream, timeout: Duration) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; READ_CHUNK];
    let n = tokio::time::timeout(timeout, s.read(&mut buf))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "read timed out"))??;
    if n == 0 {
        return Ok(None);
    }
    buf.truncate(n);
    Ok(Some(buf))
}

/// Writes everything and flushes (TLS buffers otherwise).
pub async fn send(s: &mut MailStream, data: &[u8]) -> io::Result<()> {
    s.write_all(data).await?;
    s.flush().await
}

/// A node connection with a line buffer, for the login dialogue.
#[derive(Debug)]
pub struct LineConn {
    /// The connection.
    pub stream: MailStream,
    /// Received, not yet consumed bytes.
    pub reader: LineReader,
    /// Wait limit per read.
    pub timeout: Duration,
}

impl LineConn {
    /// Wraps `stream`; node lines longer than `max_line` are an error.
    pub fn new(stream: MailStream, max_line: usize, timeout: Duration) -> LineConn {
        LineConn {
            stream,
            reader: LineReader::new(max_line),
            timeout,
        }
    }

    /// The next line (without CRLF).
    pub async fn line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            match self.reader.next_line() {
                Some(Line::Line(l)) => return Ok(l),
                Some(Line::TooLong) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "node sent an over-long line",
                    ))
                }
                None => match read_some(&mut self.stream, self.timeout).await? {
                    Some(data) => self.reader.feed(&data),
                    None => {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "node closed the connection",
                        ))
                    }
                },
            }
        }
    }

    /// Sends `data` (a full command with CRLF).
    pub async fn send(&mut self, data: &[u8]) -> io::Result<()> {
        send(&mut self.stream, data).await
    }
}
