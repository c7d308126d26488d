//! The unix socket also accepts a bare SOAP envelope without an HTTP request
//! line, as kcc-go writes it (`fakesoap.go`); the answer is a normal HTTP
//! response. A connection whose first byte is `<` is served this way: each
//! envelope ends at its closing `Envelope` tag.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tracing::{debug, info};

use super::Shared;
use crate::node::{ConnInfo, RequestMeta};
use crate::soap::{self, SoapReply};

/// A stream with bytes already read from it put back in front.
pub struct Prefixed<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Prefixed<S> {
    pub fn new(prefix: Bytes, inner: S) -> Self {
        Prefixed { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The end offset of the first complete envelope in `buf`: just past a
/// `</Envelope>` or `</prefix:Envelope>` closing tag.
pub fn envelope_end(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = memfind(&buf[from..], b"</") {
        let start = from + rel + 2;
        let mut i = start;
        while i < buf.len()
            && (buf[i].is_ascii_alphanumeric() || matches!(buf[i], b'_' | b'-' | b'.' | b':'))
        {
            i += 1;
        }
        let name = &buf[start..i];
        let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
        if local == b"Envelope" {
            while i < buf.len() && buf[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < buf.len() && buf[i] == b'>' {
                return Some(i + 1);
            }
            if i >= buf.len() {
                return None;
            }
        }
        from = start;
    }
    None
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn http_response(r: &SoapReply) -> Vec<u8> {
    let reason = if r.status == 200 {
        "OK"
    } else {
        "Internal Server Error"
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        r.status,
        r.body.len()
    )
    .into_bytes();
    out.extend_from_slice(r.body.as_bytes());
    out
}

/// Serve bare envelopes until the peer closes the connection.
pub async fn serve_bare<S>(mut io: S, mut buf: Vec<u8>, conn: &ConnInfo, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let max = shared.limits.max_body;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        while let Some(end) = envelope_end(&buf) {
            let rest = buf.split_off(end);
            let reply = soap::handle(&shared.node, conn, &RequestMeta::default(), &buf).await;
            buf = rest;
            // Whitespace between envelopes is allowed.
            let skip = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            buf.drain(..skip);
            if io.write_all(&http_response(&reply)).await.is_err() {
                return;
            }
        }
        if buf.len() > max {
            info!("bare SOAP envelope too large");
            let _ = io
                .write_all(&http_response(&SoapReply::fault(
                    true,
                    "request body too large",
                )))
                .await;
            return;
        }
        let n = match tokio::time::timeout(shared.limits.header_read_timeout, io.read(&mut chunk))
            .await
        {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                debug!(error = %e, "bare SOAP read failed");
                return;
            }
            Err(_) => return,
        };
        if n == 0 {
            if !buf.iter().all(u8::is_ascii_whitespace) {
                let _ = io
                    .write_all(&http_response(&SoapReply::fault(
                        true,
                        "truncated SOAP envelope",
                    )))
                    .await;
            }
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::envelope_end;

    #[test]
    fn finds_end() {
        let a = b"<s:Envelope><s:Body/></s:Envelope>";
        assert_eq!(envelope_end(a), Some(a.len()));
        let b = b"<Envelope><x>a</x></Envelope >tail";
        assert_eq!(envelope_end(b), Some(b.len() - 4));
        assert_eq!(envelope_end(b"<s:Envelope><s:Body/></s:Env"), None);
        assert_eq!(envelope_end(b"<s:Envelope></s:EnvelopeX>"), None);
        assert_eq!(envelope_end(b"</"), None);
    }
}
