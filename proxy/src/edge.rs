//! The one [`ProxyHttp`] implementation of the edge. Each phase method is
//! thin: it reads the session, calls a concern module ([`crate::dispatch`],
//! [`crate::headers`], [`crate::reverse`], [`crate::soap`]) and records the
//! result in [`Ctx`]. The phase chart is in the crate README.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::Uri;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_core::{Error, ErrorType, Result};
use pingora_http::{RequestHeader, ResponseHeader};
use pingora_proxy::{FailToProxy, ProxyHttp, Session};
use tracing::Instrument;

use crate::access_log::Entry;
use crate::body::{self, Coding, Held, Push};
use crate::ctx::Ctx;
use crate::dispatch::{self, Reject, RequestInfo};
use crate::headers;
use crate::respond;
use crate::reverse;
use crate::route::Route;
use crate::soap;
use crate::state::Shared;

/// The edge proxy.
#[derive(Debug, Clone)]
pub struct Edge {
    /// Shared state.
    pub shared: Arc<Shared>,
}

fn header_str<'a>(req: &'a RequestHeader, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request target as the client sent it (path and query).
fn target_of(req: &RequestHeader) -> String {
    req.uri
        .path_and_query()
        .map_or_else(|| req.uri.path().to_string(), |pq| pq.as_str().to_string())
}

fn version_label(req: &RequestHeader) -> &'static str {
    match req.version {
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2",
        http::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

#[async_trait]
impl ProxyHttp for Edge {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx::new()
    }

    /// Routes the request. `Ok(true)`: the edge answered itself (health,
    /// unknown route, missing node, unknown user); `Ok(false)`: proxy it.
    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        let shared = &self.shared;
        // Idle client keep-alive connections close after keepalive_timeout.
        session.set_keepalive(Some(shared.cfg.idle_timeout.as_secs()));
        ctx.tls = session.digest().is_some_and(|d| d.ssl_digest.is_some());
        ctx.client_ip = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.ip());
        let local_port = session
            .server_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.port());
        let req = session.req_header();
        let host = header_str(req, "host").or_else(|| req.uri.authority().map(|a| a.as_str()));
        let public =
            dispatch::public_origin(shared.cfg.public_url.as_ref(), ctx.tls, host, local_port);
        let target = target_of(req);
        let table = shared.nodes.load_full();
        ctx.route = dispatch::classify(&table, &target);
        ctx.span = tracing::debug_span!(
            "request",
            client = ?ctx.client_ip,
            method = %req.method,
            target = %target,
            route = %ctx.route.label(),
        );
        let info = RequestInfo {
            target: &target,
            authorization: header_str(req, "authorization"),
            public: &public,
        };
        let decided = dispatch::decide(shared, &table, &ctx.route, info)
            .instrument(ctx.span.clone())
            .await;
        ctx.public = Some(public);
        ctx.table = Some(table);
        match decided {
            Ok(d) => {
                ctx.node = Some(d.node);
                ctx.upstream = Some(d.upstream);
                ctx.upstream_target = Some(d.target);
                ctx.reverse = Some(d.reverse);
                ctx.user = d.user;
                Ok(false)
            }
            Err(reject) => {
                let (status, body) = reject.response();
                let extra: &[(&str, &str)] = if reject == Reject::NeedUser {
                    &[("WWW-Authenticate", "Basic realm=\"kc\"")]
                } else {
                    &[]
                };
                respond::plain(session, &shared.cfg, status, body, extra).await;
                Ok(true)
            }
        }
    }

    /// Resolves the chosen endpoint to an address (never through pingora's
    /// blocking resolver) and sets the long-poll friendly timeouts.
    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        let Some(ep) = ctx.upstream.as_ref() else {
            return Error::e_explain(ErrorType::HTTPStatus(503), "no upstream chosen");
        };
        let addr = self
            .shared
            .resolver
            .resolve(&ep.host, ep.port)
            .await
            .map_err(|e| Error::explain(ErrorType::ConnectNoRoute, e.to_string()))?;
        let mut peer = HttpPeer::new(addr, ep.tls, ep.host.clone());
        let cfg = &self.shared.cfg;
        peer.options.connection_timeout = Some(cfg.connect_timeout);
        peer.options.total_connection_timeout = Some(cfg.connect_timeout);
        peer.options.read_timeout = Some(cfg.read_timeout);
        peer.options.write_timeout = Some(cfg.read_timeout);
        peer.options.idle_timeout = Some(cfg.idle_timeout);
        Ok(Box::new(peer))
    }

    /// Only connection failures before anything was sent may be retried on
    /// another connection; the node is the same either way.
    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        _ctx: &mut Ctx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        e.set_retry(false);
        e
    }

    /// Rewrites the request for the node: target path, forwarding headers
    /// (client copies removed first), the proxy header, `Host`, and the
    /// WebDAV `Destination`.
    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        up: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let cfg = &self.shared.cfg;
        let proxy_name = cfg.proxy_header.as_ref().map_or("", |(n, _)| n.as_str());
        let strip = headers::names_to_strip(up.headers.keys().map(|k| k.as_str()), proxy_name);
        for name in strip {
            up.remove_header(&name);
        }
        if let Some(target) = ctx.upstream_target.as_deref() {
            let uri: Uri = target
                .parse()
                .map_err(|_| Error::explain(ErrorType::InvalidHTTPHeader, "bad upstream target"))?;
            up.set_uri(uri);
        }
        if let Some((name, value)) = &cfg.proxy_header {
            up.insert_header(name.clone(), value.as_str())?;
        }
        if let Some(ip) = ctx.client_ip {
            up.insert_header("X-Forwarded-For", ip.to_string())?;
        }
        up.insert_header("X-Forwarded-Proto", if ctx.tls { "https" } else { "http" })?;
        if let Some(public) = &ctx.public {
            let host = public.to_url();
            let host = host.split_once("://").map_or(host.as_str(), |(_, h)| h);
            up.insert_header("X-Forwarded-Host", host)?;
        }
        if let Some(ep) = &ctx.upstream {
            let origin = ep.origin().to_url();
            let host = origin.split_once("://").map_or(origin.as_str(), |(_, h)| h);
            up.insert_header("Host", host)?;
        }
        if let (Some(map), Some(dest)) = (
            ctx.reverse.as_ref(),
            up.headers
                .get(reverse::REQUEST_HEADER)
                .and_then(|v| v.to_str().ok()),
        ) {
            if let Some(new) = map.to_backend(dest) {
                up.insert_header(reverse::REQUEST_HEADER, new)?;
            }
        }
        ctx.upstream_started = Some(std::time::Instant::now());
        Ok(())
    }

    /// Rewrites backend URLs in `Location`, `Content-Location` and `URI`,
    /// adds the proxy header and `Alt-Svc`, and decides whether the body is a
    /// SOAP reply to hold back for the redirect safety net.
    async fn response_filter(
        &self,
        _session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let cfg = &self.shared.cfg;
        if let Some(map) = &ctx.reverse {
            for name in reverse::RESPONSE_HEADERS {
                let new = resp
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| map.to_public(v));
                if let Some(new) = new {
                    resp.insert_header(name, new)?;
                }
            }
        }
        if let Some((name, value)) = &cfg.proxy_header {
            resp.append_header(name.clone(), value.as_str())?;
        }
        if let Some(alt) = &cfg.alt_svc {
            resp.insert_header("Alt-Svc", alt.as_str())?;
        }
        let soap_route = matches!(ctx.route, Route::Default { .. } | Route::Node { .. });
        let is_soap = resp
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(soap::is_soap_content_type);
        let coding = Coding::from_header(
            resp.headers
                .get("content-encoding")
                .and_then(|v| v.to_str().ok()),
        );
        if let (true, true, 200, Some(coding)) = (soap_route, is_soap, resp.status.as_u16(), coding)
        {
            resp.remove_header("Content-Length");
            resp.insert_header("Transfer-Encoding", "chunked")?;
            ctx.soap_hold = Some((Held::default(), coding));
        }
        Ok(())
    }

    /// Streams the body, except a SOAP reply (bounded) which is held back,
    /// and at its end checked for a redirect to an internal node URL.
    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<Option<Duration>> {
        let limit = self.shared.cfg.soap_limit;
        let Some((held, coding)) = ctx.soap_hold.as_mut() else {
            return Ok(None);
        };
        if let Some(chunk) = body.take() {
            match held.push(&chunk, limit) {
                Push::Hold => {}
                Push::Release(all) => *body = Some(Bytes::from(all)),
                Push::Pass => *body = Some(chunk),
            }
        }
        if end_of_stream && !held.released() {
            let raw = held.take();
            let coding = *coding;
            let (Some(table), Some(public)) = (ctx.table.as_ref(), ctx.public.as_ref()) else {
                *body = Some(Bytes::from(raw));
                return Ok(None);
            };
            let rewritten = body::transform(coding, &raw, limit.saturating_mul(8), |plain| {
                soap::rewrite_redirect(plain, |url| {
                    let node = table.by_url(url)?;
                    let (_, rest) = reverse::Origin::split(url)?;
                    let rest = rest.trim_start_matches('/');
                    Some(format!("{}/{}/{}", public.to_url(), node.key, rest))
                })
            });
            match rewritten {
                Some(new) => {
                    self.shared.metrics.soap_rewrites.inc();
                    *body = Some(Bytes::from(new));
                }
                None => *body = Some(Bytes::from(raw)),
            }
        }
        Ok(None)
    }

    /// Answers a failed proxy attempt with a short plain-text 502, 503 or
    /// 504 (or 400 for a broken client request).
    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
        ctx.span.in_scope(|| tracing::warn!(error = %e, node = ?ctx.node.as_ref().map(|n| &n.name), "proxying failed"));
        let upstream = matches!(e.esource(), pingora_core::ErrorSource::Upstream)
            || matches!(
                e.etype(),
                ErrorType::HTTPStatus(_) | ErrorType::ConnectNoRoute
            );
        let code = if matches!(
            e.etype(),
            ErrorType::ReadError | ErrorType::WriteError | ErrorType::ConnectionClosed
        ) && matches!(e.esource(), pingora_core::ErrorSource::Downstream)
        {
            0
        } else {
            let (code, body) = respond::failure(e.etype(), upstream);
            respond::plain(session, &self.shared.cfg, code, body, &[]).await;
            code
        };
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    /// Metrics and the access log.
    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut Ctx) {
        let shared = &self.shared;
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let route = ctx.route.label();
        shared.metrics.request(&route, status);
        if let Some(t) = ctx.upstream_started {
            shared
                .metrics
                .upstream_seconds
                .with_label_values(&[route.as_str()])
                .observe(t.elapsed().as_secs_f64());
        }
        if let Some(log) = &shared.access_log {
            let req = session.req_header();
            let target = target_of(req);
            log.write(&Entry {
                client: ctx.client_ip,
                user: ctx.user.as_deref(),
                time: ctx.arrived,
                method: req.method.as_str(),
                target: &target,
                version: version_label(req),
                status,
                bytes: session.as_ref().body_bytes_sent(),
                referer: header_str(req, "referer"),
                user_agent: header_str(req, "user-agent"),
                route: &route,
                node: ctx.node.as_ref().map(|n| n.name.as_str()),
                duration_ms: u64::try_from(ctx.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            });
        }
    }
}
