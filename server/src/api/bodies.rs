//! `POST folders/{id}/bodies`: many messages in one streamed answer, in the
//! frame format of [`kc_store_api::frames`].

use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use hyper::body::Incoming;
use kc_store_api::frames;

use super::body::{self, Body};
use super::reply::{self, R};
use super::stream::{stream_file, ChunkTx};
use super::{params, read_body, Call};
use crate::node::Node;
use crate::storage::{ItemBody, Piece};
use kc_store_api::MAX_JSON;

/// Small bodies of a bulk fetch are gathered into chunks of about this size.
const BULK_CHUNK: usize = 64 << 10;
/// Messages read per database call of a bulk fetch, and the inline bytes
/// after which a call stops early: memory stays bounded by about one message.
const BULK_BATCH: usize = 16;
const BULK_BATCH_BYTES: u64 = 1 << 20;

/// Starts the streamed answer for the UIDs of the request body.
pub(super) async fn fetch(cx: &Call<'_>, id: i64, body: Incoming) -> R<Response<Body>> {
    cx.folder(id).await?;
    let r = params::bodies(&read_body(body, MAX_JSON).await?)?;
    let (tx, body) = body::channel(4);
    tokio::spawn(tracing::Instrument::instrument(
        stream_bodies(cx.node.clone(), id, r.uids, r.header, tx),
        tracing::Span::current(),
    ));
    Ok(reply::streamed(body, frames::CONTENT_TYPE))
}

/// The answer of a bulk fetch: the bodies of `uids` in order, a few read per
/// database call, streamed as they are read; unknown UIDs are skipped. A
/// read error aborts the response.
async fn stream_bodies(node: Arc<Node>, folder: i64, uids: Vec<u32>, header: bool, tx: ChunkTx) {
    let mut out: Vec<u8> = Vec::new();
    let mut next = 0;
    while next < uids.len() {
        let batch: Vec<u32> = uids[next..].iter().take(BULK_BATCH).copied().collect();
        let read = node
            .db(move |s| {
                let mut got = Vec::with_capacity(batch.len());
                let mut inline = 0u64;
                for uid in batch {
                    let r = if header {
                        s.item_header(folder, uid).map(|(_, h)| ItemBody::inline(h))
                    } else {
                        s.item_body(folder, uid).map(|(_, b)| b)
                    };
                    let body = match r {
                        Ok(b) => Some(b),
                        Err(crate::storage::StorageError::NotFound) => None,
                        Err(e) => return Err(e),
                    };
                    inline += body.as_ref().map_or(0, |b| {
                        b.pieces
                            .iter()
                            .map(|p| match p {
                                Piece::Bytes(b) => b.len() as u64,
                                Piece::File(..) => 0,
                            })
                            .sum()
                    });
                    got.push((uid, body));
                    if inline >= BULK_BATCH_BYTES {
                        break;
                    }
                }
                Ok(got)
            })
            .await;
        let read = match read {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Err(std::io::Error::other(e.name()))).await;
                return;
            }
        };
        next += read.len().max(1);
        for (uid, body) in read {
            let Some(body) = body else { continue };
            out.extend_from_slice(frames::frame_head(uid, body.len).as_bytes());
            for p in body.pieces {
                let sent = match p {
                    Piece::Bytes(b) if b.len() < BULK_CHUNK => {
                        out.extend_from_slice(&b);
                        out.len() < BULK_CHUNK || send_buffered(&mut out, &tx).await
                    }
                    // Large pieces go out as they are, after what is buffered.
                    Piece::Bytes(b) => {
                        send_buffered(&mut out, &tx).await && tx.send(Ok(b)).await.is_ok()
                    }
                    Piece::File(f, len) => {
                        send_buffered(&mut out, &tx).await && stream_file(f, len, &tx).await
                    }
                };
                if !sent {
                    return;
                }
            }
            out.extend_from_slice(frames::FRAME_END);
        }
    }
    send_buffered(&mut out, &tx).await;
}

/// Sends what `out` holds (nothing when it is empty); `false` when the
/// client is gone.
async fn send_buffered(out: &mut Vec<u8>, tx: &ChunkTx) -> bool {
    out.is_empty() || tx.send(Ok(Bytes::from(std::mem::take(out)))).await.is_ok()
}
