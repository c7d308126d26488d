//! `props/{name}`: small named values kept with the store.

use http::{Response, StatusCode};
use hyper::body::Incoming;
use kc_store_api::{MAX_PROP, PROP_TYPE};

use super::body::Body;
use super::reply::{self, Fail, R};
use super::{read_body, Call};
use crate::kcerr::KcErr;

/// `GET`: the value byte-exact; 404 when not set.
pub(super) async fn get(cx: &Call<'_>, name: String) -> R<Response<Body>> {
    let sid = cx.sid();
    match cx.node.db(move |s| s.store_prop(sid, &name)).await? {
        Some(v) => Ok(reply::respond(StatusCode::OK, PROP_TYPE, v)),
        None => Err(Fail::Kc(KcErr::NOT_FOUND, "property not set".into())),
    }
}

/// `PUT`: creates or replaces the value (at most [`MAX_PROP`] bytes).
pub(super) async fn put(cx: &Call<'_>, name: String, body: Incoming) -> R<Response<Body>> {
    let sid = cx.sid();
    let v = read_body(body, MAX_PROP).await?;
    cx.node
        .db(move |s| s.set_store_prop(sid, &name, Some(&v)))
        .await?;
    Ok(reply::no_content())
}

/// `DELETE`: removes the value (also when not set).
pub(super) async fn delete(cx: &Call<'_>, name: String) -> R<Response<Body>> {
    let sid = cx.sid();
    cx.node
        .db(move |s| s.set_store_prop(sid, &name, None))
        .await?;
    Ok(reply::no_content())
}

#[cfg(test)]
mod tests {
    /// The API's limit is the one storage enforces.
    #[test]
    fn limit_is_the_storage_limit() {
        assert_eq!(kc_store_api::MAX_PROP, crate::storage::props::MAX_VALUE);
    }
}
