//! The store API for the gateways (`/kc-store/v1/` on every listener of a
//! node; the protocol, its wire types and its documentation are in
//! kc-store-api, `store-api/API.md`). It shares the SOAP sessions and the
//! GetBestServerPath redirect rule.
//!
//! Requests are parsed in [`route`] and [`params`], the addressed store is
//! opened (or redirected) in [`store`], and [`dispatch`] hands each route to
//! its handler: one module per resource.

mod bodies;
pub mod body;
mod bulk;
mod changes;
#[cfg(test)]
mod client_tests;
mod folders;
#[cfg(test)]
pub(crate) mod http_tests;
mod items;
mod objects;
pub mod params;
mod props;
mod reply;
pub mod route;
mod store;
pub mod store_cache;
mod stream;
mod user;

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use kc_store_api::ErrorKind;
use serde::de::DeserializeOwned;

use crate::kcerr::KcErr;
use crate::node::{ConnInfo, Node, RequestMeta};
use crate::session::Session;
use crate::storage::Folder;
use body::Body;
use reply::{bad, Fail, R};
use route::Route;
use store_cache::Opened;

pub use kc_store_api::{MAX_APPEND, MAX_JSON, MAX_ROWS, SESSION_HEADER, STORE_PREFIX};
pub use user::feature_enabled;

/// Handle one request whose path starts with [`STORE_PREFIX`].
pub async fn handle(
    req: Request<Incoming>,
    conn: &ConnInfo,
    meta: &RequestMeta,
    node: &Arc<Node>,
) -> Response<Body> {
    match dispatch(req, conn, meta, node).await {
        Ok(r) => r,
        Err(f) => reply::failure(&node.settings.server_name, f),
    }
}

/// One routed request on its opened store: what every handler gets.
struct Call<'a> {
    node: &'a Arc<Node>,
    opened: &'a Opened,
    head: &'a Parts,
    query: Option<&'a str>,
}

impl Call<'_> {
    /// The opened store's id.
    fn sid(&self) -> i64 {
        self.opened.store.id
    }

    /// A live folder of the opened store.
    async fn folder(&self, id: i64) -> R<Folder> {
        let f = self.node.db(move |s| s.folder(id)).await?;
        match f {
            Some(f) if f.store_id == self.opened.store.id => Ok(f),
            _ => Err(Fail::Kc(KcErr::NOT_FOUND, format!("no folder {id}"))),
        }
    }
}

/// The request body, at most `limit` bytes (else 413).
async fn read_body(body: Incoming, limit: usize) -> R<Bytes> {
    match Limited::new(body, limit).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) => Err(Fail::Kc(
            KcErr::TOO_BIG,
            format!("request body too large or unreadable: {e}"),
        )),
    }
}

/// A JSON request body of a wire type (else 400).
async fn read_json<T: DeserializeOwned>(body: Incoming) -> R<T> {
    Ok(params::json(&read_body(body, MAX_JSON).await?)?)
}

fn session_of(node: &Node, conn: &ConnInfo, meta: &RequestMeta, h: &HeaderMap) -> R<Session> {
    let id = h
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or(Fail::Kc(
            KcErr::END_OF_SESSION,
            "missing or malformed X-Kc-Session header".into(),
        ))?;
    Ok(node.sessions.validate(id, &node.source(conn, meta))?)
}

/// Routes the request, checks its session, opens the addressed store and
/// runs the route's handler.
async fn dispatch(
    req: Request<Incoming>,
    conn: &ConnInfo,
    meta: &RequestMeta,
    node: &Arc<Node>,
) -> R<Response<Body>> {
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let rest = req.uri().path().strip_prefix(STORE_PREFIX).unwrap_or("");
    let parsed = route::parse(req.method().as_str(), rest).map_err(|e| match e {
        route::RouteError::NotFound => Fail::Http(ErrorKind::NotFound, e.to_string()),
        route::RouteError::Method => Fail::Http(ErrorKind::MethodNotAllowed, e.to_string()),
        route::RouteError::BadName => bad(e.to_string()),
    })?;
    let session = session_of(node, conn, meta, req.headers())?;
    let fresh = parsed.route == Route::User;
    let opened = store::open(node, conn, &session, &parsed.store, &pq, fresh).await?;
    let (head, body) = req.into_parts();
    let cx = Call {
        node,
        opened: &opened,
        head: &head,
        query: head.uri.query(),
    };
    match parsed.route {
        Route::Folders => folders::list(&cx).await,
        Route::Folder(id) => folders::get(&cx, id).await,
        Route::CreateFolder => folders::create(&cx, body).await,
        Route::UpdateFolder(id) => folders::update(&cx, id, body).await,
        Route::DeleteFolder(id) => folders::delete(&cx, id).await,
        Route::ListItems(id) => items::list(&cx, id).await,
        Route::Append(id) => items::append(&cx, id, body).await,
        Route::Fetch(id, uid) => items::fetch(&cx, id, uid).await,
        Route::Bodies(id) => bodies::fetch(&cx, id, body).await,
        Route::Bulk(id, op) => bulk::run(&cx, id, op, body).await,
        Route::GetObject(id, uid) => objects::get(&cx, id, uid).await,
        Route::PutObject(id, uid) => objects::put(&cx, id, uid, body).await,
        Route::DeleteObject(id, uid) => objects::delete(&cx, id, uid).await,
        Route::Changes => changes::list(&cx).await,
        Route::GetProp(name) => props::get(&cx, name).await,
        Route::PutProp(name) => props::put(&cx, name, body).await,
        Route::DeleteProp(name) => props::delete(&cx, name).await,
        Route::Quota => user::quota(&cx).await,
        Route::User => user::get(&cx),
    }
}
