//! The client side of a node for the gateways: SOAP `logon`/`logoff` and the
//! store API (`/kc-store/v1/`, `store-api/API.md`) over http(s), with one
//! pooled hyper client per process (rustls with ring for https).
//!
//! A [`Session`] is bound to the node that holds the user's store: `logon`
//! asks `GET me/user` right after the SOAP logon, and when that node answers
//! 307 (the store lives elsewhere), logs off there and logs on again at the
//! redirect target, because session ids are per node.

mod connector;
mod error;
pub mod query;
mod session;
pub mod soap;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub use crate::frames;
pub use crate::wire::{
    Appended, Change, FlagOp, FolderInfo, ItemInfo, QuotaInfo, QuotaLevel, UserInfo,
};
pub use error::ClientError;
pub use session::{Listing, Session};

use connector::Connector;
use query::{parse_json, percent_encode};
use session::SessionInner;

/// Largest JSON (or JSON lines) answer accepted: a full 100 000-row listing fits.
pub const MAX_JSON_ANSWER: usize = 64 << 20;
/// Largest message body fetched.
pub const MAX_MESSAGE: usize = 256 << 20;
/// Largest sum of message bytes of one [`Session::fetch_many`] call.
pub const MAX_BULK: usize = 256 << 20;
/// Largest store property value (the node's limit).
pub const MAX_PROP: usize = crate::MAX_PROP;
/// Longest `wait` of a changes long-poll (the node's limit).
pub const MAX_WAIT: Duration = Duration::from_secs(crate::MAX_WAIT_SECS);
/// Most redirects followed by one logon.
const MAX_REDIRECTS: usize = 3;

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
        self.send(req, soap::MAX_ANSWER, self.inner.timeout).await
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
