//! Streamed answers: stored bodies sent piece by piece, attachment files in
//! chunks, so a large message is never in memory whole.

use bytes::Bytes;
use http::{header, HeaderValue, Response};
use kc_store_api::MESSAGE_TYPE;

use super::body::{self, Body};
use crate::storage::{ItemBody, Piece};

/// Bytes read from an attachment file per chunk of a streamed fetch.
const FETCH_CHUNK: usize = 256 << 10;

/// The sender a streaming task writes an answer's chunks to; an `Err`
/// aborts the answer.
pub(super) type ChunkTx = tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>;

/// Send a stored body piece by piece; files are read chunk by chunk, so a
/// large message is never in memory whole. A short file aborts the response.
async fn stream_body(body: ItemBody, tx: ChunkTx) {
    for p in body.pieces {
        let sent = match p {
            Piece::Bytes(b) => tx.send(Ok(b)).await.is_ok(),
            Piece::File(f, len) => stream_file(f, len, &tx).await,
        };
        if !sent {
            return;
        }
    }
}

/// Sends `len` bytes of an attachment file in [`FETCH_CHUNK`] reads; false
/// when the receiver is gone or the file failed (the error was sent, which
/// aborts the response).
pub(super) async fn stream_file(f: std::fs::File, len: u64, tx: &ChunkTx) -> bool {
    use tokio::io::AsyncReadExt;
    let mut f = tokio::fs::File::from_std(f);
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left)
            .unwrap_or(FETCH_CHUNK)
            .min(FETCH_CHUNK);
        let mut buf = vec![0u8; want];
        let chunk = match f.read(&mut buf).await {
            Ok(0) => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "attachment file shorter than recorded",
            )),
            Ok(n) => {
                buf.truncate(n);
                left -= n as u64;
                Ok(Bytes::from(buf))
            }
            Err(e) => Err(e),
        };
        let failed = chunk.is_err();
        if let Err(e) = &chunk {
            tracing::warn!(error = %e, "cannot read attachment file");
        }
        if tx.send(chunk).await.is_err() || failed {
            return false;
        }
    }
    true
}

/// A chunked `message/rfc822` answer fed by [`stream_body`], with its
/// Content-Length so a client can tell an aborted stream from the end.
pub(super) fn message(pieces: Vec<Piece>, len: u64) -> Response<Body> {
    let (tx, body) = body::channel(4);
    tokio::spawn(tracing::Instrument::instrument(
        stream_body(ItemBody { len, pieces }, tx),
        tracing::Span::current(),
    ));
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(MESSAGE_TYPE));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}
