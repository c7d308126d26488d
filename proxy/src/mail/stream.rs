//! The byte streams of a mail session: a client connection that may be
//! upgraded by STARTTLS/STLS, or a node connection (plain or TLS), behind
//! one type so that the relay is the same for all of them.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::line::{Line, LineReader};

/// One side of a mail session: a client connection that STARTTLS/STLS may
/// upgrade, or a node connection, plain or TLS.
pub type MailStream = kc_certs::tls::MaybeTls;

/// Accepts TLS on a plain client connection (implicit TLS or STARTTLS)
/// within `timeout`.
pub async fn accept_tls(
    stream: MailStream,
    config: Arc<rustls::ServerConfig>,
    timeout: Duration,
) -> io::Result<MailStream> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    within(timeout, stream.accept(&acceptor)).await
}

/// Starts TLS towards a node within `timeout`.
pub async fn connect_tls(
    stream: MailStream,
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    timeout: Duration,
) -> io::Result<MailStream> {
    let connector = tokio_rustls::TlsConnector::from(config);
    within(timeout, stream.connect(&connector, name)).await
}

async fn within(
    timeout: Duration,
    handshake: impl std::future::Future<Output = io::Result<MailStream>>,
) -> io::Result<MailStream> {
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
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
