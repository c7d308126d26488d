//! `POST folders/{id}/{flags,copy,move,delete,expunge}`: one call on many
//! items of a folder.

use http::Response;
use hyper::body::Incoming;
use kc_store_api::wire::{
    ChangedReply, DeletedReply, ExpungedReply, UidMap, UidMapReply, UidModseq,
};
use kc_store_api::MAX_JSON;

use super::body::Body;
use super::reply::{bad, ok, R};
use super::route::BulkOp;
use super::{params, read_body, Call};

/// Runs `op` on folder `id` with the UIDs of the request body.
pub(super) async fn run(cx: &Call<'_>, id: i64, op: BulkOp, body: Incoming) -> R<Response<Body>> {
    cx.folder(id).await?;
    let raw = read_body(body, MAX_JSON).await?;
    let node = cx.node;
    match op {
        BulkOp::Expunge => {
            let expunged = match params::expunge(&raw)? {
                None => node.db(move |s| s.expunge(id)).await?,
                Some(uids) => node.db(move |s| s.expunge_uids(id, &uids)).await?,
            };
            ok(&ExpungedReply { expunged })
        }
        BulkOp::Flags => {
            let r = params::flags_request(&raw)?;
            let fop = params::flag_op(r.op)?;
            let changed = node
                .db(move |s| s.set_flags(id, &r.uids, fop, &r.flags))
                .await?;
            ok(&ChangedReply {
                changed: changed
                    .into_iter()
                    .map(|(uid, modseq)| UidModseq { modseq, uid })
                    .collect(),
            })
        }
        BulkOp::Copy | BulkOp::Move => {
            let r = params::copy_request(&raw)?;
            let dest = r.dest.ok_or_else(|| bad("dest missing"))?;
            cx.folder(dest).await?;
            let uids = r.uids;
            let q = crate::home::write_quota(node);
            let map = if op == BulkOp::Copy {
                node.db(move |s| s.copy_items(id, &uids, dest, &q)).await?
            } else {
                node.db(move |s| s.move_items(id, &uids, dest, &q)).await?
            };
            ok(&UidMapReply {
                uids: map
                    .into_iter()
                    .map(|(uid, new_uid)| UidMap { new_uid, uid })
                    .collect(),
            })
        }
        BulkOp::Delete => {
            let uids = params::uids_request(&raw)?.uids;
            let deleted = node.db(move |s| s.delete_items(id, &uids)).await?;
            ok(&DeletedReply { deleted })
        }
    }
}
