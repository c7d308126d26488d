//! The store API for the gateways (kc-specific, documented in `server/API.md`):
//! HTTP + JSON under [`STORE_PREFIX`] on every listener of a node, sharing the
//! SOAP sessions and the GetBestServerPath redirect rule.

pub mod body;
#[cfg(test)]
pub(crate) mod http_tests;
pub mod params;
pub mod route;
pub mod store_cache;

use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::info;

use crate::client::frames;
use crate::kcerr::KcErr;
use crate::node::{ConnInfo, Node, RequestMeta};
use crate::redirect::best_server_path;
use crate::session::Session;
use crate::storage::props;
use crate::storage::{
    Folder, FolderStatus, Item, ItemBody, ItemKind, NewItem, Object, Piece, QuotaLevel, Store,
    StoreType,
};
use crate::users::{PluginError, UserInfo};
use route::{BulkOp, Route, StoreRef};
use store_cache::Opened;

/// The prefix of the store API on every listener.
pub const STORE_PREFIX: &str = "/kc-store/v1/";
/// Header carrying the session id of a SOAP `logon` (decimal).
pub const SESSION_HEADER: &str = "x-kc-session";
/// Largest message accepted by an append.
pub const MAX_APPEND: usize = 64 << 20;
/// Largest JSON request body (bulk UID lists) and groupware object.
pub const MAX_JSON: usize = 16 << 20;
/// Most rows in one list or changes answer (also the default).
pub const MAX_ROWS: usize = 100_000;

use body::Body;

/// Content type of a header-only fetch (`part=header`; RFC 6522).
const HEADER_TYPE: &str = "text/rfc822-headers";

/// Rows read per database call when streaming a listing.
const PAGE: usize = 1000;

/// Why a request failed.
enum Fail {
    Kc(KcErr, String),
    Redirect(String),
    Status(StatusCode, String),
}

impl From<KcErr> for Fail {
    fn from(e: KcErr) -> Fail {
        Fail::Kc(e, e.name().to_ascii_lowercase().replace('_', " "))
    }
}

type R<T> = Result<T, Fail>;

fn plugin_err(e: PluginError) -> KcErr {
    match e {
        PluginError::NotFound => KcErr::NOT_FOUND,
        PluginError::InvalidCredentials => KcErr::LOGON_FAILED,
        PluginError::NotSupported(_) => KcErr::NO_SUPPORT,
        PluginError::Unavailable(_) => KcErr::PLUGIN_ERROR,
    }
}

fn status_of(er: KcErr) -> StatusCode {
    if er == KcErr::NOT_FOUND {
        StatusCode::NOT_FOUND
    } else if er == KcErr::NO_ACCESS {
        StatusCode::FORBIDDEN
    } else if er == KcErr::END_OF_SESSION || er == KcErr::LOGON_FAILED {
        StatusCode::UNAUTHORIZED
    } else if er == KcErr::COLLISION {
        StatusCode::CONFLICT
    } else if er == KcErr::INVALID_PARAMETER {
        StatusCode::BAD_REQUEST
    } else if er == KcErr::STORE_FULL {
        StatusCode::INSUFFICIENT_STORAGE
    } else if er == KcErr::TOO_BIG {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

fn respond(status: StatusCode, ctype: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(body::full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

fn json_reply(status: StatusCode, v: &Value) -> Response<Body> {
    respond(
        status,
        "application/json",
        serde_json::to_vec(v).unwrap_or_default(),
    )
}

fn fail_reply(node: &Node, f: Fail) -> Response<Body> {
    let (status, name, code, message) = match f {
        Fail::Redirect(loc) => {
            let mut r = json_reply(
                StatusCode::TEMPORARY_REDIRECT,
                &json!({"node": node.settings.server_name, "location": loc}),
            );
            if let Ok(v) = HeaderValue::from_str(&loc) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        Fail::Kc(er, m) => (status_of(er), format!("KCERR_{}", er.name()), er.wire(), m),
        Fail::Status(s, m) => (s, String::new(), 0, m),
    };
    json_reply(
        status,
        &json!({"node": node.settings.server_name,
                "error": {"name": name, "code": code, "message": message}}),
    )
}

fn bad(m: impl Into<String>) -> Fail {
    Fail::Kc(KcErr::INVALID_PARAMETER, m.into())
}

impl From<params::ParamError> for Fail {
    fn from(e: params::ParamError) -> Fail {
        bad(e.0)
    }
}

/// Handle one request whose path starts with [`STORE_PREFIX`].
pub async fn handle(
    req: Request<Incoming>,
    conn: &ConnInfo,
    meta: &RequestMeta,
    node: &Arc<Node>,
) -> Response<Body> {
    match dispatch(req, conn, meta, node).await {
        Ok(r) => r,
        Err(f) => fail_reply(node, f),
    }
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

/// `scheme://authority` of `base` + `path_and_query` (KC paths end in `/kopano`
/// or similar; the API path replaces it).
fn rebase(base: &str, path_and_query: &str) -> String {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = base.strip_prefix(scheme) {
            let authority = rest.split('/').next().unwrap_or(rest);
            return format!("{scheme}{authority}{path_and_query}");
        }
    }
    format!("{base}{path_and_query}")
}

/// The addressed private store on this node, or a redirect to its home node;
/// the session's own store (`me`) is resolved once per [`store_cache::TTL`]
/// (`fresh` skips the memory, e.g. for `GET user`, and renews it).
async fn open_store_cached(
    node: &Arc<Node>,
    conn: &ConnInfo,
    session: &Session,
    sref: &StoreRef,
    path_and_query: &str,
    fresh: bool,
) -> R<Arc<Opened>> {
    let node_key = Arc::as_ptr(node) as usize;
    if *sref == StoreRef::Me && !fresh {
        if let Some(o) = store_cache::get(node_key, node.guid, session) {
            return Ok(o);
        }
    }
    let o = Arc::new(open_store(node, conn, session, sref, path_and_query).await?);
    if *sref == StoreRef::Me {
        store_cache::put(node_key, node.guid, session, o.clone());
    }
    Ok(o)
}

/// The addressed private store on this node, or a redirect to its home node.
async fn open_store(
    node: &Node,
    conn: &ConnInfo,
    session: &Session,
    sref: &StoreRef,
    path_and_query: &str,
) -> R<Opened> {
    let login = match sref {
        StoreRef::Me => session.login.clone(),
        StoreRef::User(l) => {
            if !l.eq_ignore_ascii_case(&session.login) && !session.is_admin() {
                return Err(Fail::Kc(KcErr::NO_ACCESS, "not your store".into()));
            }
            l.clone()
        }
    };
    if login.eq_ignore_ascii_case("SYSTEM") {
        return Err(Fail::Kc(KcErr::NOT_FOUND, "SYSTEM has no store".into()));
    }
    let info = node.plugin.user(&login).await.map_err(plugin_err)?;
    let object = node.ensure_local(&info).await?;
    if !node.is_home(Some(&info))? {
        let home = info.home_server.clone().unwrap_or_default();
        let server = node.plugin.server(&home).await.map_err(plugin_err)?;
        let best = best_server_path(
            &server.paths,
            conn.kind,
            node.proxied(conn),
            &node.settings.server_name,
        );
        let loc = rebase(&best.path?, path_and_query);
        info!("Redirecting request to {loc}");
        node.stats
            .redirects
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(Fail::Redirect(loc));
    }
    let st = node.ensure_private_store(&object).await?;
    if st.store_type != StoreType::Private {
        return Err(KcErr::NOT_FOUND.into());
    }
    Ok(Opened {
        store: st,
        info,
        object,
    })
}

/// A live folder of `store`.
async fn folder_in(node: &Node, store: &Store, id: i64) -> R<Folder> {
    let f = node.db(move |s| s.folder(id)).await?;
    match f {
        Some(f) if f.store_id == store.id => Ok(f),
        _ => Err(Fail::Kc(KcErr::NOT_FOUND, format!("no folder {id}"))),
    }
}

async fn read_body(body: Incoming, limit: usize) -> R<Bytes> {
    match Limited::new(body, limit).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) => Err(Fail::Kc(
            KcErr::TOO_BIG,
            format!("request body too large or unreadable: {e}"),
        )),
    }
}

fn parse_json<T: for<'de> Deserialize<'de>>(b: &[u8]) -> R<T> {
    Ok(params::json(b)?)
}

fn folder_json(f: &Folder) -> Value {
    json!({"id": f.id, "parent": f.parent, "name": f.name, "class": f.container_class,
           "role": f.role, "uid_validity": f.uid_validity, "uid_next": f.uid_next})
}

fn folder_status_json(f: &FolderStatus) -> Value {
    let mut v = folder_json(&f.folder);
    if let Some(o) = v.as_object_mut() {
        o.insert("highest_modseq".into(), json!(f.highest_modseq));
        o.insert("exists".into(), json!(f.exists));
    }
    v
}

/// Features reported by `GET {store}/user` besides those named in the
/// configuration or on the user.
const KNOWN_FEATURES: &[&str] = &["imap", "mobile", "outlook", "pop3", "webapp"];

/// Whether `feature` is on for a user: the user's own enable/disable lists
/// win over server.cfg `disabled_features` (KC semantics).
pub fn feature_enabled(
    feature: &str,
    enabled: &[String],
    disabled: &[String],
    server_disabled: &[String],
) -> bool {
    let has = |l: &[String]| l.iter().any(|f| f.eq_ignore_ascii_case(feature));
    if has(enabled) {
        true
    } else if has(disabled) {
        false
    } else {
        !has(server_disabled)
    }
}

fn user_json(info: &UserInfo, object: &Object, server_disabled: &[String]) -> Value {
    let mut names: std::collections::BTreeSet<String> =
        KNOWN_FEATURES.iter().map(|f| (*f).to_owned()).collect();
    for f in info
        .enabled_features
        .iter()
        .chain(&info.disabled_features)
        .chain(server_disabled)
    {
        names.insert(f.to_ascii_lowercase());
    }
    let features: serde_json::Map<String, Value> = names
        .into_iter()
        .map(|n| {
            let on = feature_enabled(
                &n,
                &info.enabled_features,
                &info.disabled_features,
                server_disabled,
            );
            (n, Value::Bool(on))
        })
        .collect();
    json!({"login": info.login, "fullname": info.fullname, "email": info.email,
           "aliases": info.aliases, "features": features,
           "admin": info.admin_level.max(object.admin_level) >= 1})
}

/// Bytes read from an attachment file per chunk of a streamed fetch.
const FETCH_CHUNK: usize = 256 << 10;

type ChunkTx = tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>;

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
async fn stream_file(f: std::fs::File, len: u64, tx: &ChunkTx) -> bool {
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

/// Small bodies of a bulk fetch are gathered into chunks of about this size.
const BULK_CHUNK: usize = 64 << 10;
/// Messages read per database call of a bulk fetch, and the inline bytes
/// after which a call stops early: memory stays bounded by about one message.
const BULK_BATCH: usize = 16;
const BULK_BATCH_BYTES: u64 = 1 << 20;

/// The answer of a bulk fetch (`frames` format): the bodies of `uids` in
/// order, a few read per database call, streamed as they are read; unknown
/// UIDs are skipped. A read error aborts the response.
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

/// Fields a listing may select (`fields=` query parameter, comma-separated).
pub const ITEM_FIELDS: &[&str] = &[
    "id",
    "uid",
    "kind",
    "obj_uid",
    "etag",
    "size",
    "flags",
    "internal_date",
    "date",
    "from",
    "to",
    "subject",
    "message_id",
    "modseq",
];

/// One listing row as a JSON object with the fields in the requested order.
fn item_line(it: &Item, fields: &[&str], out: &mut Vec<u8>) {
    out.push(b'{');
    for &f in fields {
        let v = match f {
            "id" => json!(it.id),
            "uid" => json!(it.uid),
            "kind" => json!(it.kind.as_str()),
            "obj_uid" => json!(it.obj_uid),
            "etag" => json!(it.etag),
            "size" => json!(it.size),
            "flags" => json!(it.flags),
            "internal_date" => json!(it.internal_date),
            "date" => json!(it.envelope.date),
            "from" => json!(it.envelope.from),
            "to" => json!(it.envelope.to),
            "subject" => json!(it.envelope.subject),
            "message_id" => json!(it.envelope.message_id),
            "modseq" => json!(it.modseq),
            _ => continue,
        };
        if out.last() != Some(&b'{') {
            out.push(b',');
        }
        // Field names are plain ASCII identifiers; values go through serde.
        out.push(b'"');
        out.extend_from_slice(f.as_bytes());
        out.extend_from_slice(b"\":");
        if serde_json::to_writer(&mut *out, &v).is_err() {
            out.extend_from_slice(b"null");
        }
    }
    out.extend_from_slice(b"}\n");
}

fn etag_header(etag: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{etag}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

/// `If-Match` without quotes (`*` kept); weak validators are not used.
fn if_match(h: &HeaderMap) -> Option<String> {
    let v = h.get(header::IF_MATCH)?.to_str().ok()?.trim();
    Some(v.trim_matches('"').to_owned())
}

fn kind_of_folder(f: &Folder) -> Option<ItemKind> {
    match f.container_class.as_deref()? {
        c if c.starts_with("IPF.Appointment") => Some(ItemKind::Calendar),
        c if c.starts_with("IPF.Contact") => Some(ItemKind::Contact),
        c if c.starts_with("IPF.Task") => Some(ItemKind::Task),
        _ => None,
    }
}

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
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let q = query.as_deref();
    let rest = path.strip_prefix(STORE_PREFIX).unwrap_or("");
    let parsed = route::parse(req.method().as_str(), rest).map_err(|e| match e {
        route::RouteError::NotFound => Fail::Status(StatusCode::NOT_FOUND, e.to_string()),
        route::RouteError::Method => Fail::Status(StatusCode::METHOD_NOT_ALLOWED, e.to_string()),
        route::RouteError::BadName => bad(e.to_string()),
    })?;
    let session = session_of(node, conn, meta, req.headers())?;
    let fresh = parsed.route == Route::User;
    let opened = open_store_cached(node, conn, &session, &parsed.store, &pq, fresh).await?;
    let store = &opened.store;
    let sid = store.id;
    let (parts, body) = req.into_parts();
    let ok = |v: Value| Ok(json_reply(StatusCode::OK, &v));
    match parsed.route {
        Route::Folders => {
            let fs = node.db(move |s| s.folder_statuses(sid)).await?;
            ok(Value::Array(fs.iter().map(folder_status_json).collect()))
        }
        Route::Folder(id) => {
            folder_in(node, store, id).await?;
            let f = node
                .db(move |s| s.folder_status(id))
                .await?
                .ok_or_else(|| Fail::Kc(KcErr::NOT_FOUND, format!("no folder {id}")))?;
            ok(folder_status_json(&f))
        }
        Route::User => ok(user_json(
            &opened.info,
            &opened.object,
            &node.settings.disabled_features,
        )),
        Route::CreateFolder => {
            let r: params::NewFolder = parse_json(&read_body(body, MAX_JSON).await?)?;
            folder_in(node, store, r.parent).await?;
            let f = node
                .db(move |s| s.create_folder(r.parent, &r.name, r.class.as_deref()))
                .await?;
            Ok(json_reply(StatusCode::CREATED, &folder_json(&f)))
        }
        Route::UpdateFolder(id) => {
            let r: params::FolderChange = parse_json(&read_body(body, MAX_JSON).await?)?;
            folder_in(node, store, id).await?;
            if let Some(p) = r.parent {
                folder_in(node, store, p).await?;
            }
            let m = node
                .db(move |s| s.update_folder(id, r.name.as_deref(), r.parent))
                .await?;
            ok(json!({ "modseq": m }))
        }
        Route::DeleteFolder(id) => {
            folder_in(node, store, id).await?;
            let m = node.db(move |s| s.delete_folder(id)).await?;
            ok(json!({ "modseq": m }))
        }
        Route::ListItems(id) => {
            let f = folder_in(node, store, id).await?;
            let after = params::after_uid(q)?;
            let limit = params::limit(q)?;
            let fields = params::fields(q)?;
            // Rows below the UID counter read here, so the rows and the
            // Kc-Uid-Next header agree even while new mail arrives.
            let end = f.uid_next;
            let (tx, body) = body::channel(4);
            let n = node.clone();
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
                        for it in &rows {
                            if it.uid >= end {
                                done = true;
                                break;
                            }
                            item_line(it, &fields, &mut out);
                            after = it.uid;
                            left -= 1;
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
            let mut r = Response::new(body);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
            let h = r.headers_mut();
            h.insert("kc-uid-validity", HeaderValue::from(f.uid_validity));
            h.insert("kc-uid-next", HeaderValue::from(f.uid_next));
            Ok(r)
        }
        Route::Append(id) => {
            folder_in(node, store, id).await?;
            let defaults = node.settings.default_quota;
            let qs = node.db(move |s| s.quota_status(sid, &defaults)).await?;
            if qs.level == QuotaLevel::Hard {
                return Err(Fail::Kc(KcErr::STORE_FULL, "hard quota reached".into()));
            }
            let flags = params::flags(q);
            let internal_date = params::internal_date(q)?.unwrap_or_else(crate::node::now);
            let raw = read_body(body, MAX_APPEND).await?;
            let a = node
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
                    )
                })
                .await?;
            Ok(json_reply(
                StatusCode::CREATED,
                &json!({"id": a.id, "uid": a.uid, "modseq": a.modseq}),
            ))
        }
        Route::Fetch(id, uid) if params::header_only(q)? => {
            folder_in(node, store, id).await?;
            let (it, head) = node.db(move |s| s.item_header(id, uid)).await?;
            let mut r = respond(StatusCode::OK, HEADER_TYPE, head);
            r.headers_mut().insert(header::ETAG, etag_header(&it.etag));
            r.headers_mut()
                .insert("kc-modseq", HeaderValue::from(it.modseq));
            Ok(r)
        }
        Route::Fetch(id, uid) => {
            folder_in(node, store, id).await?;
            let (it, b) = node.db(move |s| s.item_body(id, uid)).await?;
            let len = b.len;
            let mut r = match <[Piece; 1]>::try_from(b.pieces) {
                Ok([Piece::Bytes(whole)]) => respond(StatusCode::OK, "message/rfc822", whole),
                Ok(pieces) => stream_reply(pieces.into(), len),
                Err(pieces) => stream_reply(pieces, len),
            };
            r.headers_mut().insert(header::ETAG, etag_header(&it.etag));
            r.headers_mut()
                .insert("kc-modseq", HeaderValue::from(it.modseq));
            Ok(r)
        }
        Route::Bodies(id) => {
            folder_in(node, store, id).await?;
            let r = params::bodies(&read_body(body, MAX_JSON).await?)?;
            let (tx, body) = body::channel(4);
            tokio::spawn(tracing::Instrument::instrument(
                stream_bodies(node.clone(), id, r.uids, r.header, tx),
                tracing::Span::current(),
            ));
            let mut r = Response::new(body);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(frames::CONTENT_TYPE),
            );
            Ok(r)
        }
        Route::Bulk(id, op) => {
            folder_in(node, store, id).await?;
            let raw = read_body(body, MAX_JSON).await?;
            if op == BulkOp::Expunge {
                let d = match params::expunge(&raw)? {
                    None => node.db(move |s| s.expunge(id)).await?,
                    Some(uids) => node.db(move |s| s.expunge_uids(id, &uids)).await?,
                };
                return ok(json!({ "expunged": d }));
            }
            let r = params::bulk(&raw)?;
            match op {
                BulkOp::Flags => {
                    let fop = params::flag_op(r.op.as_deref())?;
                    let ch = node
                        .db(move |s| s.set_flags(id, &r.uids, fop, &r.flags))
                        .await?;
                    let ch: Vec<Value> = ch
                        .iter()
                        .map(|(u, m)| json!({"uid": u, "modseq": m}))
                        .collect();
                    ok(json!({ "changed": ch }))
                }
                BulkOp::Copy | BulkOp::Move => {
                    let dest = r.dest.ok_or_else(|| bad("dest missing"))?;
                    folder_in(node, store, dest).await?;
                    let uids = r.uids;
                    let map = if op == BulkOp::Copy {
                        node.db(move |s| s.copy_items(id, &uids, dest)).await?
                    } else {
                        node.db(move |s| s.move_items(id, &uids, dest)).await?
                    };
                    let map: Vec<Value> = map
                        .iter()
                        .map(|(a, b)| json!({"uid": a, "new_uid": b}))
                        .collect();
                    ok(json!({ "uids": map }))
                }
                BulkOp::Delete => {
                    let uids = r.uids;
                    let d = node.db(move |s| s.delete_items(id, &uids)).await?;
                    ok(json!({ "deleted": d }))
                }
                BulkOp::Expunge => Err(bad("expunge")),
            }
        }
        Route::GetObject(id, ou) => {
            folder_in(node, store, id).await?;
            let (it, raw) = node.db(move |s| s.object_item(id, &ou)).await?;
            let ctype = if it.kind == ItemKind::Contact {
                "text/vcard; charset=utf-8"
            } else {
                "text/calendar; charset=utf-8"
            };
            let mut r = respond(StatusCode::OK, ctype, raw);
            r.headers_mut().insert(header::ETAG, etag_header(&it.etag));
            Ok(r)
        }
        Route::PutObject(id, ou) => {
            let f = folder_in(node, store, id).await?;
            let kind = match params::object_kind(q)? {
                Some(k) => k,
                None => kind_of_folder(&f)
                    .ok_or_else(|| bad("not a calendar, contact or task folder; give kind="))?,
            };
            let create_only = parts
                .headers
                .get(header::IF_NONE_MATCH)
                .is_some_and(|v| v.as_bytes() == b"*");
            let im = if_match(&parts.headers);
            let raw = read_body(body, MAX_JSON).await?;
            if create_only {
                let ou2 = ou.clone();
                let exists = node.db(move |s| s.object_item(id, &ou2)).await.is_ok();
                if exists {
                    return Err(Fail::Status(
                        StatusCode::PRECONDITION_FAILED,
                        "object exists".into(),
                    ));
                }
            }
            let res = node
                .db(move |s| s.put_object_item(id, kind, &ou, &raw, im.as_deref()))
                .await;
            match res {
                Ok((a, etag, created)) => {
                    let status = if created {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    };
                    let mut r = json_reply(
                        status,
                        &json!({"uid": a.uid, "modseq": a.modseq, "etag": etag}),
                    );
                    r.headers_mut().insert(header::ETAG, etag_header(&etag));
                    Ok(r)
                }
                Err(e) if e == KcErr::COLLISION => Err(Fail::Status(
                    StatusCode::PRECONDITION_FAILED,
                    "If-Match does not match".into(),
                )),
                Err(e) => Err(e.into()),
            }
        }
        Route::DeleteObject(id, ou) => {
            folder_in(node, store, id).await?;
            let im = if_match(&parts.headers);
            match node
                .db(move |s| s.delete_object_item(id, &ou, im.as_deref()))
                .await
            {
                Ok(m) => ok(json!({ "modseq": m })),
                Err(e) if e == KcErr::COLLISION => Err(Fail::Status(
                    StatusCode::PRECONDITION_FAILED,
                    "If-Match does not match".into(),
                )),
                Err(e) => Err(e.into()),
            }
        }
        Route::Changes => {
            let since = params::since(q)?;
            let limit = params::limit(q)?;
            if let Some(wait) = params::wait(q)? {
                // Subscribe before looking, so a change committed between
                // the look and the wait still wakes us.
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
                        let mut out = Vec::with_capacity(rows.len() * 128);
                        for c in &rows {
                            if serde_json::to_writer(&mut out, c).is_ok() {
                                out.push(b'\n');
                            }
                        }
                        left -= rows.len();
                        if let Some(last) = rows.last() {
                            since = last.modseq;
                        }
                        if !out.is_empty() && tx.send(Ok(Bytes::from(out))).await.is_err() {
                            return;
                        }
                        if rows.len() < page {
                            return;
                        }
                    }
                },
                tracing::Span::current(),
            ));
            let mut r = Response::new(body);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
            Ok(r)
        }
        Route::GetProp(name) => {
            let v = node.db(move |s| s.store_prop(sid, &name)).await?;
            match v {
                Some(v) => Ok(respond(StatusCode::OK, "application/octet-stream", v)),
                None => Err(Fail::Kc(KcErr::NOT_FOUND, "property not set".into())),
            }
        }
        Route::PutProp(name) => {
            let v = read_body(body, props::MAX_VALUE).await?;
            node.db(move |s| s.set_store_prop(sid, &name, Some(&v)))
                .await?;
            Ok(no_content())
        }
        Route::DeleteProp(name) => {
            node.db(move |s| s.set_store_prop(sid, &name, None)).await?;
            Ok(no_content())
        }
        Route::Quota => {
            let defaults = node.settings.default_quota;
            let qs = node.db(move |s| s.quota_status(sid, &defaults)).await?;
            ok(serde_json::to_value(qs).unwrap_or(Value::Null))
        }
    }
}

/// An empty 204 answer (property writes).
fn no_content() -> Response<Body> {
    let mut r = Response::new(body::full(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// A chunked `message/rfc822` answer fed by [`stream_body`], with its
/// Content-Length so a client can tell an aborted stream from the end.
fn stream_reply(pieces: Vec<Piece>, len: u64) -> Response<Body> {
    let (tx, body) = body::channel(4);
    tokio::spawn(tracing::Instrument::instrument(
        stream_body(ItemBody { len, pieces }, tx),
        tracing::Span::current(),
    ));
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("message/rfc822"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebase_keeps_authority() {
        assert_eq!(
            rebase("https://node2:237/kopano", "/kc-store/v1/me/quota?x=1"),
            "https://node2:237/kc-store/v1/me/quota?x=1"
        );
        assert_eq!(rebase("http://h", "/p"), "http://h/p");
    }
}
