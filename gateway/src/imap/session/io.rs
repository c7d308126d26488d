//! The connection of a session: socket (upgradable by STARTTLS), command
//! receiver and output buffer.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::imap::receiver::{Limits, Receiver};
use crate::net::Conn;

/// Output is written out once this much is buffered, so a FETCH of many
/// bodies streams instead of piling up in memory.
pub(crate) const FLUSH_AT: usize = 256 * 1024;
/// Bytes read per socket read.
const READ_CHUNK: usize = 64 * 1024;

/// What a read brought.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// Bytes were fed to the receiver.
    Data,
    /// The peer closed the connection.
    Eof,
}

pub(crate) struct Io {
    /// `None` only while STARTTLS swaps the stream.
    pub conn: Option<Conn>,
    pub rx: Receiver,
    pub out: Vec<u8>,
    buf: Vec<u8>,
}

impl Io {
    pub fn new(conn: Conn, limits: Limits) -> Io {
        Io {
            conn: Some(conn),
            rx: Receiver::new(limits),
            out: Vec::with_capacity(8192),
            buf: vec![0; READ_CHUNK],
        }
    }

    fn conn(&mut self) -> io::Result<&mut Conn> {
        self.conn.as_mut().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotConnected,
                "connection lost in TLS upgrade",
            )
        })
    }

    /// Writes out everything buffered.
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut self.out);
        let conn = self.conn()?;
        let r = async {
            conn.write_all(&out).await?;
            conn.flush().await
        }
        .await;
        // Keep the allocation for the next reply.
        self.out = out;
        self.out.clear();
        r
    }

    /// Flushes when the buffer has grown large.
    pub async fn flush_if_big(&mut self) -> io::Result<()> {
        if self.out.len() >= FLUSH_AT {
            self.flush().await
        } else {
            Ok(())
        }
    }

    /// Reads once into the receiver, failing with `TimedOut` after `limit`.
    pub async fn read(&mut self, limit: Duration) -> io::Result<Read> {
        let Io { conn, rx, buf, .. } = self;
        let conn = conn
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no connection"))?;
        match tokio::time::timeout(limit, conn.read(buf)).await {
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "idle timeout")),
            Ok(Ok(0)) => Ok(Read::Eof),
            Ok(Ok(n)) => {
                rx.feed(&buf[..n]);
                Ok(Read::Data)
            }
            Ok(Err(e)) => Err(e),
        }
    }
}
