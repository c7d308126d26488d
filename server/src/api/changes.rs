//! `GET changes`: the store's change log as JSON lines, with an optional
//! long poll (IMAP IDLE).

use bytes::Bytes;
use http::Response;
use kc_store_api::wire::Change;
use kc_store_api::NDJSON_TYPE;

use super::body::{self, Body};
use super::reply::{self, R};
use super::{params, Call};

/// Rows read per database call.
const PAGE: usize = 1000;

/// A change-log row as the API sends it.
fn wire(c: crate::storage::Change) -> Change {
    Change {
        modseq: c.modseq,
        object_type: c.object_type,
        object_id: c.object_id,
        folder_id: c.folder_id,
        uid: c.uid,
        change_type: c.change_type,
        at: c.at,
    }
}

/// Changes after `since`, oldest first, read and sent a page at a time;
/// with `wait`, held until the store changes or the wait ends.
pub(super) async fn list(cx: &Call<'_>) -> R<Response<Body>> {
    let since = params::since(cx.query)?;
    let limit = params::limit(cx.query)?;
    let sid = cx.sid();
    let node = cx.node;
    if let Some(wait) = params::wait(cx.query)? {
        // Subscribe before looking, so a change committed between the look
        // and the wait still wakes us.
        if let Some(mut rx) = node.storage.subscribe_changes(sid) {
            let pending = node.db(move |s| s.changes_since(sid, since, 1)).await?;
            if pending.is_empty() {
                let _ = tokio::time::timeout(wait, rx.changed()).await;
            }
        }
    }
    let (tx, body) = body::channel(4);
    let n = node.clone();
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let (mut since, mut left) = (since, limit);
            while left > 0 {
                let page = left.min(PAGE);
                let rows = match n.db(move |s| s.changes_since(sid, since, page)).await {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Err(std::io::Error::other(e.name()))).await;
                        return;
                    }
                };
                let got = rows.len();
                left -= got;
                if let Some(last) = rows.last() {
                    since = last.modseq;
                }
                let mut out = Vec::with_capacity(got * 128);
                for c in rows {
                    if serde_json::to_writer(&mut out, &wire(c)).is_ok() {
                        out.push(b'\n');
                    }
                }
                if !out.is_empty() && tx.send(Ok(Bytes::from(out))).await.is_err() {
                    return;
                }
                if got < page {
                    return;
                }
            }
        },
        tracing::Span::current(),
    ));
    Ok(reply::streamed(body, NDJSON_TYPE))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A change-log line has the bytes the storage row always serialized to.
    #[test]
    fn same_line_as_the_storage_row() {
        let row = crate::storage::Change {
            modseq: 812,
            object_type: "item".into(),
            object_id: 44,
            folder_id: Some(9),
            uid: Some(3),
            change_type: "flags".into(),
            at: 1_795_000_000,
        };
        assert_eq!(
            serde_json::to_string(&wire(row.clone())).unwrap(),
            serde_json::to_string(&row).unwrap()
        );
    }
}
