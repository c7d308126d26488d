//! `folders/{id}/items`: the streamed listing, appends and single fetches
//! (whole message or header block).

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use hyper::body::Incoming;
use kc_store_api::wire::{Appended, ItemInfo};
use kc_store_api::{
    HEADER_TYPE, MAX_APPEND, MESSAGE_TYPE, MODSEQ_HEADER, NDJSON_TYPE, UID_NEXT_HEADER,
    UID_VALIDITY_HEADER,
};

use super::body::{self, Body};
use super::reply::{self, etag_header, R};
use super::{params, read_body, store, stream, Call};
use crate::storage::{Item, ItemKind, NewItem, Piece};

/// Rows read per database call when streaming a listing.
const PAGE: usize = 1000;

/// A stored item as a listing row.
fn info(it: Item) -> ItemInfo {
    ItemInfo {
        id: it.id,
        uid: it.uid,
        kind: it.kind.as_str().to_owned(),
        obj_uid: it.obj_uid,
        etag: it.etag,
        size: it.size,
        flags: it.flags,
        internal_date: it.internal_date,
        date: it.envelope.date,
        from: it.envelope.from,
        to: it.envelope.to,
        subject: it.envelope.subject,
        message_id: it.envelope.message_id,
        modseq: it.modseq,
    }
}

/// `GET folders/{id}/items`: JSON lines of the live items by UID, read and
/// sent a page at a time.
pub(super) async fn list(cx: &Call<'_>, id: i64) -> R<Response<Body>> {
    let f = cx.folder(id).await?;
    let after = params::after_uid(cx.query)?;
    let limit = params::limit(cx.query)?;
    let fields = params::fields(cx.query)?;
    // Rows below the UID counter read here, so the rows and the
    // Kc-Uid-Next header agree even while new mail arrives.
    let end = f.uid_next;
    let (tx, body) = body::channel(4);
    let n = cx.node.clone();
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let (mut after, mut left) = (after, limit);
            while left > 0 {
                let page = left.min(PAGE);
                let rows = match n.db(move |s| s.list_items(id, after, page)).await {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Err(std::io::Error::other(e.name()))).await;
                        return;
                    }
                };
                let mut out = Vec::with_capacity(rows.len() * 32 * fields.len().max(1));
                let mut done = rows.len() < page;
                for it in rows {
                    if it.uid >= end {
                        done = true;
                        break;
                    }
                    after = it.uid;
                    left -= 1;
                    info(it).write_line(&fields, &mut out);
                }
                if !out.is_empty() && tx.send(Ok(Bytes::from(out))).await.is_err() {
                    return;
                }
                if done {
                    return;
                }
            }
        },
        tracing::Span::current(),
    ));
    let mut r = reply::streamed(body, NDJSON_TYPE);
    let h = r.headers_mut();
    h.insert(UID_VALIDITY_HEADER, HeaderValue::from(f.uid_validity));
    h.insert(UID_NEXT_HEADER, HeaderValue::from(f.uid_next));
    Ok(r)
}

/// `POST folders/{id}/items`: appends a raw message (201).
pub(super) async fn append(cx: &Call<'_>, id: i64, body: Incoming) -> R<Response<Body>> {
    cx.folder(id).await?;
    // Refuse before reading the body when it cannot fit.
    let announced = cx
        .head
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<i64>().ok())
        .unwrap_or(1);
    store::admit_write(cx.node, cx.opened, announced.max(1)).await?;
    let defaults = crate::home::write_quota(cx.node);
    let flags = params::flags(cx.query);
    let internal_date = params::internal_date(cx.query)?.unwrap_or_else(crate::node::now);
    let raw = read_body(body, MAX_APPEND).await?;
    let a = cx
        .node
        .db(move |s| {
            s.append_item(
                id,
                &NewItem {
                    kind: ItemKind::Mail,
                    obj_uid: None,
                    body: &raw,
                    flags: &flags,
                    internal_date,
                },
                &defaults,
            )
        })
        .await?;
    Ok(reply::json(
        StatusCode::CREATED,
        &Appended {
            id: a.id,
            modseq: a.modseq,
            uid: a.uid,
        },
    ))
}

/// `GET folders/{id}/items/{uid}`: the message byte-exact (streamed when it
/// has attachment files), or with `part=header` its header block.
pub(super) async fn fetch(cx: &Call<'_>, id: i64, uid: u32) -> R<Response<Body>> {
    let header_only = params::header_only(cx.query)?;
    cx.folder(id).await?;
    let (it, mut r) = if header_only {
        let (it, head) = cx.node.db(move |s| s.item_header(id, uid)).await?;
        (it, reply::respond(StatusCode::OK, HEADER_TYPE, head))
    } else {
        let (it, b) = cx.node.db(move |s| s.item_body(id, uid)).await?;
        let len = b.len;
        let r = match <[Piece; 1]>::try_from(b.pieces) {
            Ok([Piece::Bytes(whole)]) => reply::respond(StatusCode::OK, MESSAGE_TYPE, whole),
            Ok(pieces) => stream::message(pieces.into(), len),
            Err(pieces) => stream::message(pieces, len),
        };
        (it, r)
    };
    r.headers_mut().insert(header::ETAG, etag_header(&it.etag));
    r.headers_mut()
        .insert(MODSEQ_HEADER, HeaderValue::from(it.modseq));
    Ok(r)
}
