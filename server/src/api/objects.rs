//! `folders/{id}/objects/{uid}`: calendar, contact and task objects by their
//! iCalendar/vCard UID, with ETag preconditions.

use http::{header, HeaderMap, Response, StatusCode};
use hyper::body::Incoming;
use kc_store_api::wire::{ModseqReply, ObjectWritten};
use kc_store_api::{ErrorKind, MAX_JSON};

use super::body::Body;
use super::reply::{self, bad, etag_header, ok, Fail, R};
use super::{params, read_body, Call};
use crate::kcerr::KcErr;
use crate::storage::{Folder, ItemKind};

/// `If-Match` without quotes (`*` kept); weak validators are not used.
fn if_match(h: &HeaderMap) -> Option<String> {
    let v = h.get(header::IF_MATCH)?.to_str().ok()?.trim();
    Some(v.trim_matches('"').to_owned())
}

/// The object kind a folder holds, by its container class.
fn kind_of_folder(f: &Folder) -> Option<ItemKind> {
    match f.container_class.as_deref()? {
        c if c.starts_with("IPF.Appointment") => Some(ItemKind::Calendar),
        c if c.starts_with("IPF.Contact") => Some(ItemKind::Contact),
        c if c.starts_with("IPF.Task") => Some(ItemKind::Task),
        _ => None,
    }
}

/// A failed `If-Match` / `If-None-Match` (412).
fn precondition(m: &str) -> Fail {
    Fail::Http(ErrorKind::PreconditionFailed, m.into())
}

/// `GET`: the iCalendar or vCard text with its ETag.
pub(super) async fn get(cx: &Call<'_>, id: i64, uid: String) -> R<Response<Body>> {
    cx.folder(id).await?;
    let (it, raw) = cx.node.db(move |s| s.object_item(id, &uid)).await?;
    let ctype = if it.kind == ItemKind::Contact {
        "text/vcard; charset=utf-8"
    } else {
        "text/calendar; charset=utf-8"
    };
    let mut r = reply::respond(StatusCode::OK, ctype, raw);
    r.headers_mut().insert(header::ETAG, etag_header(&it.etag));
    Ok(r)
}

/// `PUT`: creates (201) or replaces (200) an object.
pub(super) async fn put(cx: &Call<'_>, id: i64, uid: String, body: Incoming) -> R<Response<Body>> {
    let f = cx.folder(id).await?;
    let kind = match params::object_kind(cx.query)? {
        Some(k) => k,
        None => kind_of_folder(&f)
            .ok_or_else(|| bad("not a calendar, contact or task folder; give kind="))?,
    };
    let headers = &cx.head.headers;
    let create_only = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == b"*");
    let im = if_match(headers);
    let raw = read_body(body, MAX_JSON).await?;
    if create_only {
        let uid2 = uid.clone();
        let exists = cx.node.db(move |s| s.object_item(id, &uid2)).await.is_ok();
        if exists {
            return Err(precondition("object exists"));
        }
    }
    let q = crate::home::write_quota(cx.node);
    let res = cx
        .node
        .db(move |s| s.put_object_item(id, kind, &uid, &raw, im.as_deref(), &q))
        .await;
    match res {
        Ok((a, etag, created)) => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let mut r = reply::json(
                status,
                &ObjectWritten {
                    etag: etag.clone(),
                    modseq: a.modseq,
                    uid: a.uid,
                },
            );
            r.headers_mut().insert(header::ETAG, etag_header(&etag));
            Ok(r)
        }
        Err(e) if e == KcErr::COLLISION => Err(precondition("If-Match does not match")),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE`: soft-deletes an object.
pub(super) async fn delete(cx: &Call<'_>, id: i64, uid: String) -> R<Response<Body>> {
    cx.folder(id).await?;
    let im = if_match(&cx.head.headers);
    match cx
        .node
        .db(move |s| s.delete_object_item(id, &uid, im.as_deref()))
        .await
    {
        Ok(modseq) => ok(&ModseqReply { modseq }),
        Err(e) if e == KcErr::COLLISION => Err(precondition("If-Match does not match")),
        Err(e) => Err(e.into()),
    }
}
