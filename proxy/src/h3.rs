//! HTTP/3 on UDP through quinn + h3. Pingora has no HTTP/3, so this is a
//! second front end: it shares the rustls configuration (certificates and
//! client-certificate policy), the node table and [`crate::dispatch`] with
//! the TCP listeners, and forwards over HTTP/1.1 with hyper.
//!
//! Request bodies are collected up to [`MAX_REQUEST_BODY`] before they are
//! forwarded (HTTP/3 clients of KC are browsers and ActiveSync devices, not
//! bulk uploaders); replies stream back, except SOAP replies, which are held
//! back within the same limit as on TCP for the redirect safety net.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use pingora_core::server::ShutdownWatch;
use pingora_core::services::background::BackgroundService;
use rustls::pki_types::ServerName;

use crate::body::{self, Coding};
use crate::dispatch::{self, Decision, Reject, RequestInfo};
use crate::headers;
use crate::reverse::{self, Origin};
use crate::route::Route;
use crate::soap;
use crate::state::Shared;

/// Largest request body accepted over HTTP/3.
pub const MAX_REQUEST_BODY: usize = 64 << 20;

/// The HTTP/3 listener.
pub struct H3Service {
    addr: SocketAddr,
    tls: rustls::ServerConfig,
    shared: Arc<Shared>,
    upstream_tls: Option<Arc<rustls::ClientConfig>>,
}

impl H3Service {
    /// A listener on `addr` (UDP) with `tls` (ALPN must contain `h3`).
    pub fn new(addr: SocketAddr, tls: rustls::ServerConfig, shared: Arc<Shared>) -> H3Service {
        H3Service {
            addr,
            tls,
            shared,
            upstream_tls: None,
        }
    }

    /// Sets the client configuration for HTTPS nodes.
    pub fn with_upstream_tls(mut self, tls: Option<Arc<rustls::ClientConfig>>) -> H3Service {
        self.upstream_tls = tls;
        self
    }
}

#[async_trait]
impl BackgroundService for H3Service {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let crypto = match quinn::crypto::rustls::QuicServerConfig::try_from(self.tls.clone()) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("HTTP/3 disabled: unusable TLS configuration: {e}");
                return;
            }
        };
        let config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        let endpoint = match quinn::Endpoint::server(config, self.addr) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(addr = %self.addr, "HTTP/3 disabled: cannot bind: {e}");
                return;
            }
        };
        tracing::info!(addr = %self.addr, "HTTP/3 listening");
        loop {
            let incoming = tokio::select! {
                i = endpoint.accept() => i,
                _ = shutdown.changed() => break,
            };
            let Some(incoming) = incoming else { break };
            let shared = self.shared.clone();
            let up = self.upstream_tls.clone();
            let local_port = self.addr.port();
            tokio::spawn(async move {
                let client = incoming.remote_address().ip();
                match incoming.await {
                    Ok(conn) => serve_connection(conn, shared, up, client, local_port).await,
                    Err(e) => tracing::debug!(%client, "HTTP/3 handshake failed: {e}"),
                }
            });
        }
        endpoint.close(0u32.into(), b"shutdown");
        endpoint.wait_idle().await;
    }
}

async fn serve_connection(
    conn: quinn::Connection,
    shared: Arc<Shared>,
    up: Option<Arc<rustls::ClientConfig>>,
    client: IpAddr,
    local_port: u16,
) {
    shared.metrics.tls_handshakes.inc();
    let mut h3conn =
        match h3::server::Connection::<_, Bytes>::new(h3_quinn::Connection::new(conn)).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(%client, "HTTP/3 connection setup failed: {e}");
                return;
            }
        };
    loop {
        match h3conn.accept().await {
            Ok(Some(resolver)) => {
                let shared = shared.clone();
                let up = up.clone();
                tokio::spawn(async move {
                    match resolver.resolve_request().await {
                        Ok((req, stream)) => {
                            handle(shared, up, client, local_port, req, stream).await;
                        }
                        Err(e) => tracing::debug!(%client, "HTTP/3 request failed: {e}"),
                    }
                });
            }
            Ok(None) => break,
            Err(e) => {
                tracing::debug!(%client, "HTTP/3 connection ended: {e}");
                break;
            }
        }
    }
}

type Stream = h3::server::RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>;

async fn send_plain(stream: &mut Stream, shared: &Shared, status: u16, body: &'static str) {
    let mut resp = Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .header("content-length", body.len());
    if let Some((n, v)) = &shared.cfg.proxy_header {
        resp = resp.header(n.as_str(), v.as_str());
    }
    if status == 401 {
        resp = resp.header("www-authenticate", "Basic realm=\"kc\"");
    }
    let Ok(resp) = resp.body(()) else { return };
    if stream.send_response(resp).await.is_ok() {
        let _ = stream.send_data(Bytes::from_static(body.as_bytes())).await;
    }
    let _ = stream.finish().await;
}

/// Why forwarding failed: status and body.
struct Fail(u16, &'static str);

async fn handle(
    shared: Arc<Shared>,
    up: Option<Arc<rustls::ClientConfig>>,
    client: IpAddr,
    local_port: u16,
    req: Request<()>,
    mut stream: Stream,
) {
    shared.metrics.h3_requests.inc();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            req.headers()
                .get("host")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
    let public = dispatch::public_origin(
        shared.cfg.public_url.as_ref(),
        true,
        host.as_deref(),
        Some(local_port),
    );
    let table = shared.nodes.load_full();
    let route = dispatch::classify(&table, &target);
    let info = RequestInfo {
        target: &target,
        authorization: req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        public: &public,
    };
    let status = match dispatch::decide(&shared, &table, &route, info).await {
        Err(reject) => {
            let (status, body) = reject.response();
            send_plain(&mut stream, &shared, status, body).await;
            if reject == Reject::Health {
                return;
            }
            status
        }
        Ok(d) => match forward(
            &shared,
            up,
            client,
            &public,
            &route,
            &table,
            d,
            req,
            &mut stream,
        )
        .await
        {
            Ok(s) => s,
            Err(Fail(status, body)) => {
                send_plain(&mut stream, &shared, status, body).await;
                status
            }
        },
    };
    shared.metrics.request(&route.label(), status);
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

#[allow(clippy::too_many_arguments)]
async fn forward(
    shared: &Shared,
    up: Option<Arc<rustls::ClientConfig>>,
    client: IpAddr,
    public: &Origin,
    route: &Route,
    table: &crate::nodes::NodeTable,
    d: Decision,
    req: Request<()>,
    stream: &mut Stream,
) -> Result<u16, Fail> {
    let cfg = &shared.cfg;
    // Collect the request body (bounded).
    let mut body = BytesMut::new();
    loop {
        match stream.recv_data().await {
            Ok(Some(mut chunk)) => {
                if body.len() + chunk.remaining() > MAX_REQUEST_BODY {
                    return Err(Fail(413, "413 request body too large for HTTP/3\n"));
                }
                while chunk.has_remaining() {
                    let c = chunk.chunk();
                    body.extend_from_slice(c);
                    let n = c.len();
                    chunk.advance(n);
                }
            }
            Ok(None) => break,
            Err(_) => return Err(Fail(400, "400 request body incomplete\n")),
        }
    }
    // Build the upstream request with the same header policy as TCP.
    let (parts, ()) = req.into_parts();
    let mut out = Request::builder()
        .method(parts.method.clone())
        .uri(d.target.as_str())
        .version(http::Version::HTTP_11);
    let proxy_name = cfg.proxy_header.as_ref().map_or("", |(n, _)| n.as_str());
    let strip = headers::names_to_strip(parts.headers.keys().map(|k| k.as_str()), proxy_name);
    let Some(hdrs) = out.headers_mut() else {
        return Err(Fail(500, "500 internal error\n"));
    };
    for (name, value) in &parts.headers {
        let n = name.as_str();
        if strip.iter().any(|s| s == n)
            || matches!(
                n,
                "host" | "connection" | "transfer-encoding" | "content-length"
            )
        {
            continue;
        }
        hdrs.append(name.clone(), value.clone());
    }
    let upstream_origin = d.upstream.origin().to_url();
    let upstream_host = upstream_origin
        .split_once("://")
        .map_or(upstream_origin.as_str(), |(_, h)| h);
    let public_url = public.to_url();
    let public_host = public_url
        .split_once("://")
        .map_or(public_url.as_str(), |(_, h)| h);
    let set = |h: &mut http::HeaderMap, n: &str, v: &str| {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.insert(n, v);
        }
    };
    set(hdrs, "host", upstream_host);
    if let Some((n, v)) = &cfg.proxy_header {
        set(hdrs, n, v);
    }
    set(hdrs, "x-forwarded-for", &client.to_string());
    set(hdrs, "x-forwarded-proto", "https");
    set(hdrs, "x-forwarded-host", public_host);
    set(hdrs, "content-length", &body.len().to_string());
    if let Some(dest) = parts
        .headers
        .get(reverse::REQUEST_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(new) = d.reverse.to_backend(dest) {
            set(hdrs, reverse::REQUEST_HEADER, &new);
        }
    }
    let upstream_req = out
        .body(Full::new(body.freeze()))
        .map_err(|_| Fail(400, "400 bad request\n"))?;

    // Connect.
    let started = std::time::Instant::now();
    let addr = shared
        .resolver
        .resolve(&d.upstream.host, d.upstream.port)
        .await
        .map_err(|_| Fail(502, "502 the node cannot be reached\n"))?;
    let tcp = tokio::time::timeout(cfg.connect_timeout, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| Fail(504, "504 the node did not answer in time\n"))?
        .map_err(|_| Fail(502, "502 the node cannot be reached\n"))?;
    let io: Box<dyn Io> = if d.upstream.tls {
        let tls = up.ok_or(Fail(502, "502 no upstream TLS configuration\n"))?;
        let name = ServerName::try_from(d.upstream.host.clone())
            .map_err(|_| Fail(502, "502 bad node name\n"))?;
        let s = tokio::time::timeout(
            cfg.connect_timeout,
            tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
        )
        .await
        .map_err(|_| Fail(504, "504 the node did not answer in time\n"))?
        .map_err(|_| Fail(502, "502 TLS to the node failed\n"))?;
        Box::new(s)
    } else {
        Box::new(tcp)
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|_| Fail(502, "502 the node cannot be reached\n"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = tokio::time::timeout(cfg.read_timeout, sender.send_request(upstream_req))
        .await
        .map_err(|_| Fail(504, "504 the node did not answer in time\n"))?
        .map_err(|_| Fail(502, "502 the node failed while answering\n"))?;

    // Response headers.
    let (rparts, mut rbody) = resp.into_parts();
    let status = rparts.status.as_u16();
    let mut h = Response::builder().status(rparts.status);
    let soap_route = matches!(route, Route::Default { .. } | Route::Node { .. });
    let is_soap = rparts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(soap::is_soap_content_type);
    let coding = Coding::from_header(
        rparts
            .headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
    );
    let hold = soap_route && is_soap && status == 200 && coding.is_some();
    if let Some(hm) = h.headers_mut() {
        for (name, value) in &rparts.headers {
            let n = name.as_str();
            if matches!(
                n,
                "connection" | "transfer-encoding" | "keep-alive" | "upgrade"
            ) || (hold && n == "content-length")
            {
                continue;
            }
            let mapped = if reverse::RESPONSE_HEADERS.contains(&n) {
                value.to_str().ok().and_then(|v| d.reverse.to_public(v))
            } else {
                None
            };
            match mapped.and_then(|m| HeaderValue::from_str(&m).ok()) {
                Some(v) => {
                    hm.insert(name.clone(), v);
                }
                None => {
                    hm.append(name.clone(), value.clone());
                }
            }
        }
        if let Some((n, v)) = &cfg.proxy_header {
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(n.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                hm.append(n, v);
            }
        }
        if let Some(alt) = cfg
            .alt_svc
            .as_deref()
            .and_then(|a| HeaderValue::from_str(a).ok())
        {
            hm.insert("alt-svc", alt);
        }
    }
    let head = h
        .body(())
        .map_err(|_| Fail(502, "502 bad reply from the node\n"))?;
    stream.send_response(head).await.map_err(|_| Fail(0, ""))?;

    // Body.
    let limit = cfg.soap_limit;
    let mut held: Option<Vec<u8>> = hold.then(Vec::new);
    while let Some(frame) = rbody.frame().await {
        let Ok(frame) = frame else { break };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if let Some(buf) = held.as_mut() {
            if buf.len() + data.len() <= limit {
                buf.extend_from_slice(&data);
                continue;
            }
            let mut all = std::mem::take(buf);
            all.extend_from_slice(&data);
            held = None;
            if stream.send_data(Bytes::from(all)).await.is_err() {
                return Ok(status);
            }
            continue;
        }
        if stream.send_data(data).await.is_err() {
            return Ok(status);
        }
    }
    if let (Some(raw), Some(coding)) = (held, coding) {
        let out = body::transform(coding, &raw, limit.saturating_mul(8), |plain| {
            soap::rewrite_redirect(plain, |url| {
                let node = table.by_url(url)?;
                let (_, rest) = Origin::split(url)?;
                Some(format!(
                    "{}/{}/{}",
                    public.to_url(),
                    node.key,
                    rest.trim_start_matches('/')
                ))
            })
        });
        if out.is_some() {
            shared.metrics.soap_rewrites.inc();
        }
        let _ = stream.send_data(Bytes::from(out.unwrap_or(raw))).await;
    }
    let _ = stream.finish().await;
    shared
        .metrics
        .upstream_seconds
        .with_label_values(&[route.label().as_str()])
        .observe(started.elapsed().as_secs_f64());
    Ok(status)
}
