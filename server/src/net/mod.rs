//! The HTTP/1.1 listeners (plain, TLS, unix socket): one hyper connection task
//! per client, holding the per-connection state (peer address, uid or
//! certificate, and the sticky proxy-header flag).

pub mod bare;
pub mod encoding;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::node::{ConnInfo, Node, RequestMeta};
use crate::redirect::ConnKind;
use crate::soap::SoapReply;

/// The prefix of kc's admin API on every listener; all other paths (except
/// the store API's `crate::api::STORE_PREFIX`) are SOAP.
pub const ADMIN_PREFIX: &str = "/kc-admin/v1/";

/// Transport limits.
#[derive(Debug, Clone, Copy)]
pub struct NetLimits {
    /// Largest request body on the wire (compressed or not).
    pub max_body: usize,
    /// Largest body after decompression.
    pub max_decoded: usize,
    pub header_read_timeout: Duration,
    pub tls_handshake_timeout: Duration,
    pub max_connections: usize,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            max_body: 16 << 20,
            max_decoded: 16 << 20,
            header_read_timeout: Duration::from_secs(60),
            tls_handshake_timeout: Duration::from_secs(30),
            max_connections: 4096,
        }
    }
}

/// What every connection task shares.
pub struct Shared {
    pub node: Arc<Node>,
    pub limits: NetLimits,
}

pub enum Listener {
    Tcp(TcpListener),
    Tls(TcpListener, TlsAcceptor),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => format!(
                "http://{}",
                l.local_addr().map(|a| a.to_string()).unwrap_or_default()
            ),
            Listener::Tls(l, _) => format!(
                "https://{}",
                l.local_addr().map(|a| a.to_string()).unwrap_or_default()
            ),
            Listener::Unix(_, p) => format!("file://{}", p.display()),
        }
    }
}

type Body = crate::api::body::Body;

fn peer_ip(addr: &SocketAddr) -> String {
    addr.ip().to_canonical().to_string()
}

/// Accept connections until `shutdown` turns true.
pub async fn serve(listener: Listener, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = shutdown.changed() => return,
        };
        let accepted = tokio::select! {
            a = accept(&listener) => a,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok(Accepted::Tcp(stream, addr)) => {
                let shared = shared.clone();
                let conn = Arc::new(ConnInfo::new(ConnKind::Http, peer_ip(&addr), None, None));
                let span = info_span!("conn", kind = "http", peer = %addr);
                tokio::spawn(
                    async move {
                        serve_conn(stream, conn, shared).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
            Ok(Accepted::Tls(stream, addr)) => {
                let Listener::Tls(_, acceptor) = &listener else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let shared = shared.clone();
                let span = info_span!("conn", kind = "https", peer = %addr);
                tokio::spawn(
                    async move {
                        let hs = tokio::time::timeout(
                            shared.limits.tls_handshake_timeout,
                            acceptor.accept(stream),
                        )
                        .await;
                        let tls = match hs {
                            Ok(Ok(t)) => t,
                            Ok(Err(e)) => {
                                info!(error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                info!("TLS handshake timed out");
                                return;
                            }
                        };
                        let cert = tls
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .map(|c| c.clone().into_owned());
                        let conn =
                            Arc::new(ConnInfo::new(ConnKind::Https, peer_ip(&addr), None, cert));
                        serve_conn(tls, conn, shared).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
            Ok(Accepted::Unix(stream)) => {
                let Listener::Unix(_, path) = &listener else {
                    continue;
                };
                let uid = stream.peer_cred().ok().map(|c| c.uid());
                let conn = Arc::new(ConnInfo::new(
                    ConnKind::Unix,
                    format!("file://{}", path.display()),
                    uid,
                    None,
                ));
                let shared = shared.clone();
                let span = info_span!("conn", kind = "unix", uid = ?uid);
                tokio::spawn(
                    async move {
                        serve_unix(stream, conn, shared).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
            Err(e) => {
                warn!(error = %e, "accept failed");
                // Avoid spinning on persistent errors such as EMFILE.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

enum Accepted {
    Tcp(tokio::net::TcpStream, SocketAddr),
    Tls(tokio::net::TcpStream, SocketAddr),
    Unix(tokio::net::UnixStream),
}

async fn accept(l: &Listener) -> std::io::Result<Accepted> {
    match l {
        Listener::Tcp(t) => {
            let (s, a) = t.accept().await?;
            let _ = s.set_nodelay(true);
            Ok(Accepted::Tcp(s, a))
        }
        Listener::Tls(t, _) => {
            let (s, a) = t.accept().await?;
            let _ = s.set_nodelay(true);
            Ok(Accepted::Tls(s, a))
        }
        Listener::Unix(u, _) => {
            let (s, _) = u.accept().await?;
            Ok(Accepted::Unix(s))
        }
    }
}

/// Unix-socket clients speak HTTP, or (kcc-go) write a bare envelope.
async fn serve_unix(mut stream: tokio::net::UnixStream, conn: Arc<ConnInfo>, shared: Arc<Shared>) {
    use tokio::io::AsyncReadExt;
    let mut first = vec![0u8; 4096];
    let n = match tokio::time::timeout(shared.limits.header_read_timeout, stream.read(&mut first))
        .await
    {
        Ok(Ok(n)) if n > 0 => n,
        _ => return,
    };
    first.truncate(n);
    if first.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
        debug!("bare SOAP envelope on the unix socket");
        bare::serve_bare(stream, first, &conn, &shared).await;
        return;
    }
    serve_conn(
        bare::Prefixed::new(Bytes::from(first), stream),
        conn,
        shared,
    )
    .await;
}

async fn serve_conn<I>(io: I, conn: Arc<ConnInfo>, shared: Arc<Shared>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    debug!("connection opened");
    let header_timeout_src = shared.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let conn = conn.clone();
        let shared = shared.clone();
        let span = info_span!("request", path = %req.uri().path());
        async move { Ok::<_, Infallible>(handle(req, &conn, &shared).await) }.instrument(span)
    });
    let header_timeout = header_timeout_src.limits.header_read_timeout;
    let result = http1::Builder::new()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(256 * 1024)
        .serve_connection(TokioIo::new(io), service)
        .await;
    if let Err(e) = result {
        debug!(error = %e, "connection ended with error");
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut r = Response::new(crate::api::body::full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn soap(r: SoapReply) -> Response<Body> {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    reply(status, "text/xml; charset=utf-8", r.body)
}

/// The first address of `X-Forwarded-For`.
fn forwarded_for(req: &Request<Incoming>) -> Option<String> {
    let v = req.headers().get("x-forwarded-for")?.to_str().ok()?;
    let first = v.split(',').next()?.trim();
    (!first.is_empty() && first.len() <= 256).then(|| first.to_owned())
}

async fn handle(req: Request<Incoming>, conn: &ConnInfo, shared: &Shared) -> Response<Body> {
    let node = &shared.node;
    {
        let ph = node.proxy_header.read();
        // HeaderMap lookups ignore case, as KC's strcasecmp does; the value is ignored.
        if !ph.is_empty()
            && *ph != "*"
            && req.headers().contains_key(ph.to_ascii_lowercase().as_str())
        {
            conn.mark_proxied();
        }
    }
    let meta = RequestMeta {
        forwarded_for: forwarded_for(&req),
    };
    let path = req.uri().path().to_owned();
    // The store API has its own methods, body limits and (byte-exact) bodies.
    if path.starts_with(crate::api::STORE_PREFIX) {
        return crate::api::handle(req, conn, &meta, node).await;
    }
    if req.method() != Method::POST {
        let mut r = soap(SoapReply::fault(true, "only POST is supported"));
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let encoding = req
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match Limited::new(req.into_body(), shared.limits.max_body)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            info!(error = %e, "request body rejected");
            let mut r = soap(SoapReply::fault(
                true,
                "request body too large or unreadable",
            ));
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return r;
        }
    };
    let body = match encoding::decode_body(
        encoding.as_deref(),
        body.to_vec(),
        shared.limits.max_decoded,
    ) {
        Ok(b) => b,
        Err(e) => {
            info!(error = %e, "request body not decodable");
            return soap(SoapReply::fault(true, &e.to_string()));
        }
    };
    if let Some(op) = path.strip_prefix(ADMIN_PREFIX) {
        let (status, json) = crate::admin::server::handle(node, conn, &meta, op, &body).await;
        return reply(status, "application/json", json);
    }
    soap(crate::soap::handle(node, conn, &meta, &body).await)
}
