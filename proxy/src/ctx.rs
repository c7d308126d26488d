//! Per-request state carried between the proxy phases.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use time::OffsetDateTime;

use crate::body::{Coding, Held};
use crate::nodes::{Endpoint, Node, NodeTable};
use crate::reverse::{Origin, ReverseMap};
use crate::route::Route;

/// The CTX of [`crate::edge::Edge`]: filled in `request_filter`, used by
/// the later phases, and summarised in `logging`.
#[derive(Debug)]
pub struct Ctx {
    /// When the request arrived (for the access log and durations).
    pub started: Instant,
    /// Wall-clock arrival time (for the access log).
    pub arrived: OffsetDateTime,
    /// The classified route; `NotFound` until `request_filter` ran.
    pub route: Route,
    /// The node table snapshot this request was routed with.
    pub table: Option<Arc<NodeTable>>,
    /// The chosen node.
    pub node: Option<Arc<Node>>,
    /// Where the request goes.
    pub upstream: Option<Endpoint>,
    /// Request target sent upstream.
    pub upstream_target: Option<String>,
    /// ProxyPassReverse mapping for this request.
    pub reverse: Option<ReverseMap>,
    /// The public origin the client used.
    pub public: Option<Origin>,
    /// Client address (the TCP peer), forwarded as `X-Forwarded-For`.
    pub client_ip: Option<IpAddr>,
    /// Whether the client connection is TLS.
    pub tls: bool,
    /// User named by the request (home routes), for the log.
    pub user: Option<String>,
    /// When the request was sent upstream.
    pub upstream_started: Option<Instant>,
    /// A SOAP reply being held back for the redirect safety net.
    pub soap_hold: Option<(Held, Coding)>,
    /// The request's tracing span (client, method, target, route).
    pub span: tracing::Span,
}

impl Ctx {
    /// A fresh context.
    pub fn new() -> Ctx {
        Ctx {
            started: Instant::now(),
            arrived: OffsetDateTime::now_utc(),
            route: Route::NotFound,
            table: None,
            node: None,
            upstream: None,
            upstream_target: None,
            reverse: None,
            public: None,
            client_ip: None,
            tls: false,
            user: None,
            upstream_started: None,
            soap_hold: None,
            span: tracing::Span::none(),
        }
    }
}

impl Default for Ctx {
    fn default() -> Self {
        Ctx::new()
    }
}
