//! The client side of a node for the gateways: SOAP `logon`/`logoff` and the
//! store API (`/kc-store/v1/`, `server/API.md`) over http(s), with one pooled
//! hyper client per process (rustls with ring for https).
//!
//! A [`Session`] is bound to the node that holds the user's store: `logon`
//! asks `GET me/user` right after the SOAP logon, and when that node answers
//! 307 (the store lives elsewhere), logs off there and logs on again at the
//! redirect target, because session ids are per node.

mod connector;
mod error;
pub mod frames;
pub mod soap;
pub mod types;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

pub use error::ClientError;
pub use types::{Appended, Change, FlagOp, FolderInfo, ItemInfo, Listing, QuotaInfo, UserInfo};

use connector::Connector;
use types::{parse_json, parse_ndjson, percent_encode};

/// Largest JSON (or JSON lines) answer accepted: a full 100 000-row listing fits.
pub const MAX_JSON_ANSWER: usize = 64 << 20;
/// Largest message body fetched.
pub const MAX_MESSAGE: usize = 256 << 20;
/// Largest sum of message bytes of one [`Session::fetch_many`] call.
pub const MAX_BULK: usize = 256 << 20;
/// Largest store property value (the node's limit).
pub const MAX_PROP: usize = 1 << 20;
/// Longest `wait` of a changes long-poll (the server's limit).
pub const MAX_WAIT: Duration = Duration::from_secs(300);
/// Most redirects followed by one logon.
const MAX_REDIRECTS: usize = 3;
const STORE_PREFIX: &str = "/kc-store/v1/";
const SESSION_HEADER: &str = "x-kc-session";

/// How to reach the node.
#[derive(Clone)]
pub struct ClientConfig {
    /// gateway.cfg `server_socket`, e.g. `http://localhost:236/kopano`.
    pub server_socket: String,
    /// Client TLS (CA, optional client certificate) for `https://` nodes.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Connect timeout and limit of every request (a long-poll adds its wait).
    pub timeout: Duration,
}

/// Splits `http(s)://authority/path` into `(scheme://authority, /path)`.
pub fn split_url(url: &str) -> Result<(String, String), ClientError> {
    let bad = || ClientError::BadUrl(url.to_owned());
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(bad)?;
    let scheme_len = url.len() - rest.len();
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') || authority.contains(char::is_whitespace) {
        return Err(bad());
    }
    let path = if path.starts_with('/') { path } else { "/" };
    Ok((
        format!("{}{authority}", &url[..scheme_len]),
        path.to_owned(),
    ))
}

struct Inner {
    http: Client<Connector, Full<Bytes>>,
    base: String,
    soap_path: String,
    timeout: Duration,
}

/// The process-wide client of the node; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct StoreClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for StoreClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreClient")
            .field("base", &self.inner.base)
            .finish_non_exhaustive()
    }
}

/// One HTTP answer, fully read.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl StoreClient {
    /// A client for `cfg.server_socket` (must be http or https).
    pub fn new(cfg: ClientConfig) -> Result<StoreClient, ClientError> {
        let (base, soap_path) = split_url(&cfg.server_socket)?;
        if base.starts_with("https://") && cfg.tls.is_none() {
            return Err(ClientError::Tls(
                "https:// server_socket needs TLS client settings".into(),
            ));
        }
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build(Connector::new(cfg.tls, cfg.timeout));
        Ok(StoreClient {
            inner: Arc::new(Inner {
                http,
                base,
                soap_path,
                timeout: cfg.timeout,
            }),
        })
    }

    /// `scheme://authority` of the configured node.
    pub fn base(&self) -> &str {
        &self.inner.base
    }

    async fn send(
        &self,
        req: Request<Full<Bytes>>,
        limit: usize,
        timeout: Duration,
    ) -> Result<Answer, ClientError> {
        let what = format!("{} {}", req.method(), req.uri());
        let work = async {
            let resp = self
                .inner
                .http
                .request(req)
                .await
                .map_err(|e| ClientError::Unavailable(format!("{what}: {}", chain(&e))))?;
            let (parts, body) = resp.into_parts();
            let body = Limited::new(body, limit)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some()
                    {
                        ClientError::TooLarge
                    } else {
                        ClientError::Unavailable(format!("{what}: reading the answer: {e}"))
                    }
                })?
                .to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Unavailable(format!(
                "{what}: no answer within {timeout:?}"
            ))),
        }
    }

    async fn soap(
        &self,
        base: &str,
        body: String,
        source: Option<IpAddr>,
    ) -> Result<Answer, ClientError> {
        let mut b = Request::post(format!("{base}{}", self.inner.soap_path))
            .header(header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .header(header::USER_AGENT, "kc-gateway");
        if let Some(ip) = source {
            b = b.header("x-forwarded-for", ip.to_string());
        }
        let req = b
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::BadUrl(e.to_string()))?;
        self.send(req, 1 << 20, self.inner.timeout).await
    }

    /// SOAP logon with the user's password; follows a redirect of the store
    /// to the user's home node and logs on there.
    pub async fn logon(
        &self,
        user: &str,
        password: &str,
        client_app: &str,
    ) -> Result<Session, ClientError> {
        self.logon_from(user, password, client_app, None).await
    }

    /// [`Self::logon`] for a client at `source`: the address goes to the node
    /// as `X-Forwarded-For` on every request of the session (audit log,
    /// `session_ip_check`; believed only by nodes that trust the gateway).
    pub async fn logon_from(
        &self,
        user: &str,
        password: &str,
        client_app: &str,
        source: Option<IpAddr>,
    ) -> Result<Session, ClientError> {
        let mut base = self.inner.base.clone();
        for _ in 0..=MAX_REDIRECTS {
            let a = self
                .soap(
                    &base,
                    soap::logon_request(user, password, client_app),
                    source,
                )
                .await?;
            if a.status != StatusCode::OK && a.status != StatusCode::INTERNAL_SERVER_ERROR {
                return Err(ClientError::from_status(a.status.as_u16(), &a.body));
            }
            let id = soap::parse_logon_response(&a.body)?;
            let mut session = Session {
                inner: Arc::new(SessionInner {
                    client: self.clone(),
                    base: base.clone(),
                    id,
                    login: user.to_owned(),
                    source,
                    user: None,
                }),
            };
            let probe = session.get("user", MAX_JSON_ANSWER, None).await?;
            match probe.status {
                StatusCode::OK => {
                    let info: UserInfo = parse_json(&probe.body)?;
                    let login = if info.login.is_empty() {
                        user.to_owned()
                    } else {
                        info.login.clone()
                    };
                    session.inner = Arc::new(SessionInner {
                        client: self.clone(),
                        base,
                        id,
                        login,
                        source,
                        user: Some(info),
                    });
                    return Ok(session);
                }
                StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => {
                    let loc = probe
                        .headers
                        .get(header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let (next, _) = split_url(loc).map_err(|_| {
                        ClientError::Protocol(format!("bad redirect location '{loc}'"))
                    })?;
                    tracing::debug!(user, from = %base, to = %next, "store is on another node");
                    session.logoff().await;
                    base = next;
                }
                // A node without `GET user` yet: the session works, features are unknown.
                StatusCode::NOT_FOUND => return Ok(session),
                s => {
                    session.logoff().await;
                    return Err(ClientError::from_status(s.as_u16(), &probe.body));
                }
            }
        }
        Err(ClientError::Protocol("too many redirects".into()))
    }
}

/// An error with its sources, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

struct SessionInner {
    client: StoreClient,
    base: String,
    id: u64,
    login: String,
    source: Option<IpAddr>,
    user: Option<UserInfo>,
}

/// A logged-on user on the node holding the store; clones share it.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("login", &self.inner.login)
            .field("node", &self.inner.base)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The user's login as the node spells it.
    pub fn login(&self) -> &str {
        &self.inner.login
    }

    /// `scheme://authority` of the node holding the store.
    pub fn node(&self) -> &str {
        &self.inner.base
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Bytes)>,
    ) -> Result<Request<Full<Bytes>>, ClientError> {
        let s = &self.inner;
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{}{STORE_PREFIX}me/{path}", s.base))
            .header(SESSION_HEADER, s.id.to_string())
            .header(header::USER_AGENT, "kc-gateway");
        if let Some(ip) = s.source {
            b = b.header("x-forwarded-for", ip.to_string());
        }
        let body = match body {
            Some((ctype, data)) => {
                b = b.header(header::CONTENT_TYPE, ctype);
                data
            }
            None => Bytes::new(),
        };
        b.body(Full::new(body))
            .map_err(|e| ClientError::Protocol(format!("cannot build request for {path}: {e}")))
    }

    /// A GET with any status returned (redirects are the caller's business).
    async fn get(
        &self,
        path: &str,
        limit: usize,
        extra_wait: Option<Duration>,
    ) -> Result<Answer, ClientError> {
        let req = self.request(Method::GET, path, None)?;
        let timeout = self.inner.client.inner.timeout + extra_wait.unwrap_or_default();
        self.inner.client.send(req, limit, timeout).await
    }

    /// A request whose non-2xx answer is an error.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Bytes)>,
        limit: usize,
        extra_wait: Option<Duration>,
    ) -> Result<Answer, ClientError> {
        let req = self.request(method, path, body)?;
        let timeout = self.inner.client.inner.timeout + extra_wait.unwrap_or_default();
        let a = self.inner.client.send(req, limit, timeout).await?;
        if a.status.is_success() {
            Ok(a)
        } else if a.status.is_redirection() {
            Err(ClientError::Protocol(format!(
                "store moved while logged on ({})",
                a.status
            )))
        } else {
            Err(ClientError::from_status(a.status.as_u16(), &a.body))
        }
    }

    async fn post_json(&self, path: &str, v: serde_json::Value) -> Result<Answer, ClientError> {
        let body = serde_json::to_vec(&v).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.call(
            Method::POST,
            path,
            Some(("application/json", Bytes::from(body))),
            MAX_JSON_ANSWER,
            None,
        )
        .await
    }

    /// The user with features; the answer of the logon probe when there was one.
    pub async fn user(&self) -> Result<UserInfo, ClientError> {
        if let Some(u) = &self.inner.user {
            return Ok(u.clone());
        }
        let a = self
            .call(Method::GET, "user", None, MAX_JSON_ANSWER, None)
            .await?;
        parse_json(&a.body)
    }

    /// The live folders of the store.
    pub async fn folders(&self) -> Result<Vec<FolderInfo>, ClientError> {
        let a = self
            .call(Method::GET, "folders", None, MAX_JSON_ANSWER, None)
            .await?;
        parse_json(&a.body)
    }

    /// One folder with its counters.
    pub async fn folder(&self, id: i64) -> Result<FolderInfo, ClientError> {
        let a = self
            .call(
                Method::GET,
                &format!("folders/{id}"),
                None,
                MAX_JSON_ANSWER,
                None,
            )
            .await?;
        parse_json(&a.body)
    }

    /// Creates a folder below `parent`.
    pub async fn create_folder(
        &self,
        parent: i64,
        name: &str,
        class: &str,
    ) -> Result<FolderInfo, ClientError> {
        let a = self
            .post_json(
                "folders",
                json!({"parent": parent, "name": name, "class": class}),
            )
            .await?;
        parse_json(&a.body)
    }

    /// Renames and/or moves a folder; returns the change number.
    pub async fn update_folder(
        &self,
        id: i64,
        name: Option<&str>,
        parent: Option<i64>,
    ) -> Result<i64, ClientError> {
        let mut v = serde_json::Map::new();
        if let Some(n) = name {
            v.insert("name".into(), json!(n));
        }
        if let Some(p) = parent {
            v.insert("parent".into(), json!(p));
        }
        let body = serde_json::to_vec(&v).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let a = self
            .call(
                Method::PATCH,
                &format!("folders/{id}"),
                Some(("application/json", Bytes::from(body))),
                MAX_JSON_ANSWER,
                None,
            )
            .await?;
        Ok(parse_json::<types::ModseqReply>(&a.body)?.modseq)
    }

    /// Soft-deletes a folder subtree; returns the change number.
    pub async fn delete_folder(&self, id: i64) -> Result<i64, ClientError> {
        let a = self
            .call(
                Method::DELETE,
                &format!("folders/{id}"),
                None,
                MAX_JSON_ANSWER,
                None,
            )
            .await?;
        Ok(parse_json::<types::ModseqReply>(&a.body)?.modseq)
    }

    /// Items above `after_uid` (at most `limit`, 0 = the server's maximum),
    /// with the given fields (empty = all).
    pub async fn list_items(
        &self,
        folder: i64,
        after_uid: u32,
        limit: u32,
        fields: &[&str],
    ) -> Result<Listing, ClientError> {
        let path = format!(
            "folders/{folder}/items{}",
            types::list_query(after_uid, limit, fields)
        );
        let a = self
            .call(Method::GET, &path, None, MAX_JSON_ANSWER, None)
            .await?;
        let num = |h: &str| {
            a.headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok())
                .ok_or_else(|| ClientError::Protocol(format!("listing without {h}")))
        };
        Ok(Listing {
            uid_validity: num("kc-uid-validity")?,
            uid_next: num("kc-uid-next")?,
            items: parse_ndjson(&a.body)?,
        })
    }

    /// The raw message, byte-exact.
    pub async fn fetch(&self, folder: i64, uid: u32) -> Result<Bytes, ClientError> {
        let a = self
            .call(
                Method::GET,
                &format!("folders/{folder}/items/{uid}"),
                None,
                MAX_MESSAGE,
                None,
            )
            .await?;
        Ok(a.body)
    }

    /// The header block of a message (up to and including the blank line;
    /// the whole message when it has none), byte-exact; the node reads it
    /// without the message's attachment files.
    pub async fn fetch_header(&self, folder: i64, uid: u32) -> Result<Bytes, ClientError> {
        let a = self
            .call(
                Method::GET,
                &format!("folders/{folder}/items/{uid}?part=header"),
                None,
                MAX_MESSAGE,
                None,
            )
            .await?;
        Ok(a.body)
    }

    /// Whole messages `uids` of `folder` in one streamed answer per
    /// [`frames::MAX_UIDS`] UIDs (`POST folders/{id}/bodies`), byte-exact and in
    /// the requested order; unknown and expunged UIDs are left out. More than
    /// [`MAX_BULK`] message bytes in all is [`ClientError::TooLarge`]: callers
    /// chunk by the sizes they know.
    pub async fn fetch_many(
        &self,
        folder: i64,
        uids: &[u32],
    ) -> Result<Vec<(u32, Bytes)>, ClientError> {
        self.bodies(folder, uids, false).await
    }

    /// As [`Self::fetch_many`], the header blocks only (as [`Self::fetch_header`]).
    pub async fn fetch_headers_many(
        &self,
        folder: i64,
        uids: &[u32],
    ) -> Result<Vec<(u32, Bytes)>, ClientError> {
        self.bodies(folder, uids, true).await
    }

    async fn bodies(
        &self,
        folder: i64,
        uids: &[u32],
        header_only: bool,
    ) -> Result<Vec<(u32, Bytes)>, ClientError> {
        let mut out = Vec::with_capacity(uids.len());
        let mut total = 0usize;
        for chunk in uids.chunks(frames::MAX_UIDS) {
            let budget = MAX_BULK - total;
            let mut req = json!({ "uids": chunk });
            if header_only {
                req["part"] = json!("header");
            }
            let body =
                serde_json::to_vec(&req).map_err(|e| ClientError::Protocol(e.to_string()))?;
            // The frame heads come on top of the message bytes.
            let limit = budget + chunk.len() * (frames::MAX_HEAD + frames::FRAME_END.len());
            let a = self
                .call(
                    Method::POST,
                    &format!("folders/{folder}/bodies"),
                    Some(("application/json", Bytes::from(body))),
                    limit,
                    None,
                )
                .await?;
            let ctype = a
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if ctype != frames::CONTENT_TYPE {
                return Err(ClientError::Protocol(format!(
                    "bulk fetch answered '{ctype}'"
                )));
            }
            let got = frames::decode(
                &a.body,
                frames::FrameLimits {
                    max_frames: chunk.len(),
                    max_total: budget as u64,
                },
            )
            .map_err(|e| match e {
                frames::FrameError::TooLarge => ClientError::TooLarge,
                e => ClientError::Protocol(format!("bulk fetch: {e}")),
            })?;
            let order: Vec<u32> = got.iter().map(|(u, _)| *u).collect();
            if !frames::in_request_order(chunk, &order) {
                return Err(ClientError::Protocol(
                    "bulk fetch answered UIDs out of request order".into(),
                ));
            }
            total += got.iter().map(|(_, b)| b.len()).sum::<usize>();
            out.extend(got);
        }
        Ok(out)
    }

    /// Store property `name` (1-64 characters of `A-Z a-z 0-9 . _ -`);
    /// `None` when it is not set.
    pub async fn prop(&self, name: &str) -> Result<Option<Bytes>, ClientError> {
        let path = format!("props/{}", percent_encode(name));
        match self.call(Method::GET, &path, None, MAX_PROP, None).await {
            Ok(a) => Ok(Some(a.body)),
            Err(ClientError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sets (`Some`, at most [`MAX_PROP`] bytes) or removes (`None`) store
    /// property `name`; durable on the node when this returns.
    pub async fn set_prop(&self, name: &str, value: Option<Bytes>) -> Result<(), ClientError> {
        let path = format!("props/{}", percent_encode(name));
        match value {
            Some(v) if v.len() > MAX_PROP => Err(ClientError::TooLarge),
            Some(v) => self
                .call(
                    Method::PUT,
                    &path,
                    Some(("application/octet-stream", v)),
                    MAX_JSON_ANSWER,
                    None,
                )
                .await
                .map(|_| ()),
            None => self
                .call(Method::DELETE, &path, None, MAX_JSON_ANSWER, None)
                .await
                .map(|_| ()),
        }
    }

    /// Appends a raw RFC 5322 message.
    pub async fn append(
        &self,
        folder: i64,
        body: Bytes,
        flags: &[String],
        internal_date: Option<i64>,
    ) -> Result<Appended, ClientError> {
        let path = format!(
            "folders/{folder}/items{}",
            types::append_query(flags, internal_date)
        );
        let a = self
            .call(
                Method::POST,
                &path,
                Some(("message/rfc822", body)),
                MAX_JSON_ANSWER,
                None,
            )
            .await?;
        parse_json(&a.body)
    }

    /// Changes flags; returns `(uid, modseq)` of the items that changed.
    pub async fn set_flags(
        &self,
        folder: i64,
        uids: &[u32],
        op: FlagOp,
        flags: &[String],
    ) -> Result<Vec<(u32, i64)>, ClientError> {
        let a = self
            .post_json(
                &format!("folders/{folder}/flags"),
                json!({"uids": uids, "op": op.as_str(), "flags": flags}),
            )
            .await?;
        let r: types::ChangedReply = parse_json(&a.body)?;
        Ok(r.changed.into_iter().map(|c| (c.uid, c.modseq)).collect())
    }

    async fn uid_map(
        &self,
        op: &str,
        folder: i64,
        uids: &[u32],
        dest: i64,
    ) -> Result<Vec<(u32, u32)>, ClientError> {
        let a = self
            .post_json(
                &format!("folders/{folder}/{op}"),
                json!({"uids": uids, "dest": dest}),
            )
            .await?;
        let r: types::UidMapReply = parse_json(&a.body)?;
        Ok(r.uids.into_iter().map(|m| (m.uid, m.new_uid)).collect())
    }

    /// Copies items; returns `(uid, new_uid)` pairs.
    pub async fn copy(
        &self,
        folder: i64,
        uids: &[u32],
        dest: i64,
    ) -> Result<Vec<(u32, u32)>, ClientError> {
        self.uid_map("copy", folder, uids, dest).await
    }

    /// Moves items within the store; returns `(uid, new_uid)` pairs.
    pub async fn move_items(
        &self,
        folder: i64,
        uids: &[u32],
        dest: i64,
    ) -> Result<Vec<(u32, u32)>, ClientError> {
        self.uid_map("move", folder, uids, dest).await
    }

    /// Soft-deletes items; returns the UIDs deleted.
    pub async fn delete(&self, folder: i64, uids: &[u32]) -> Result<Vec<u32>, ClientError> {
        let a = self
            .post_json(&format!("folders/{folder}/delete"), json!({ "uids": uids }))
            .await?;
        Ok(parse_json::<types::DeletedReply>(&a.body)?.deleted)
    }

    /// Removes the items flagged `\Deleted` (only those of `uids` when given).
    pub async fn expunge(
        &self,
        folder: i64,
        uids: Option<&[u32]>,
    ) -> Result<Vec<u32>, ClientError> {
        let path = format!("folders/{folder}/expunge");
        let a = match uids {
            Some(u) => self.post_json(&path, json!({ "uids": u })).await?,
            None => {
                self.call(Method::POST, &path, None, MAX_JSON_ANSWER, None)
                    .await?
            }
        };
        Ok(parse_json::<types::ExpungedReply>(&a.body)?.expunged)
    }

    /// Changes after `since`, oldest first; with `wait`, the node holds the
    /// answer until something changes or the wait (at most [`MAX_WAIT`]) ends.
    pub async fn changes(
        &self,
        since: i64,
        limit: u32,
        wait: Option<Duration>,
    ) -> Result<Vec<Change>, ClientError> {
        let mut path = format!("changes?since={since}");
        if limit > 0 {
            path.push_str(&format!("&limit={limit}"));
        }
        let wait = wait.map(|w| w.min(MAX_WAIT));
        if let Some(w) = wait {
            path.push_str(&format!("&wait={}", w.as_secs().max(1)));
        }
        let a = self
            .call(Method::GET, &path, None, MAX_JSON_ANSWER, wait)
            .await?;
        parse_ndjson(&a.body)
    }

    /// Quota state of the store.
    pub async fn quota(&self) -> Result<QuotaInfo, ClientError> {
        let a = self
            .call(Method::GET, "quota", None, MAX_JSON_ANSWER, None)
            .await?;
        parse_json(&a.body)
    }

    /// Keeps the node session from expiring (`session_timeout`) while the
    /// gateway's client idles: one cheap request.
    pub async fn keepalive(&self) -> Result<(), ClientError> {
        self.call(Method::GET, "quota", None, MAX_JSON_ANSWER, None)
            .await
            .map(|_| ())
    }

    /// Ends the session on the node; failures are only logged (the node
    /// expires the session anyway).
    pub async fn logoff(&self) {
        let s = &self.inner;
        if let Err(e) = s
            .client
            .soap(&s.base, soap::logoff_request(s.id), s.source)
            .await
        {
            tracing::debug!(error = %e, "logoff failed");
        }
    }
}

/// Percent-encodes a login for a `/kc-store/v1/{login}/` path.
pub fn store_segment(login: &str) -> String {
    percent_encode(login)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            split_url("http://localhost:236/kopano").unwrap(),
            ("http://localhost:236".into(), "/kopano".into())
        );
        assert_eq!(
            split_url("https://[::1]:237").unwrap(),
            ("https://[::1]:237".into(), "/".into())
        );
        assert_eq!(
            split_url("https://n2:237/kc-store/v1/me/user?x=1")
                .unwrap()
                .0,
            "https://n2:237"
        );
        assert!(split_url("file:///run/kopano/server.sock").is_err());
        assert!(split_url("http:///x").is_err());
        assert!(split_url("http://u@h/").is_err());
    }

    #[tokio::test]
    async fn unreachable_node_is_unavailable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let c = StoreClient::new(ClientConfig {
            server_socket: format!("http://127.0.0.1:{port}/kopano"),
            tls: None,
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        match c.logon("u", "p", "test").await {
            Err(ClientError::Unavailable(_)) => {}
            r => panic!("{r:?}"),
        }
        assert!(StoreClient::new(ClientConfig {
            server_socket: "https://127.0.0.1:1/".into(),
            tls: None,
            timeout: Duration::from_secs(1),
        })
        .is_err());
    }
}
