//! Choosing the upstream for a request: the route, the node (static, from
//! the directory, or the user's home node), the upstream request target and
//! the ProxyPassReverse mapping. I/O-free except for the home-node lookup.

use std::sync::Arc;

use crate::identity;
use crate::nodes::{Endpoint, Node, NodeTable};
use crate::reverse::{Origin, ReverseMap};
use crate::route::{self, HomeKind, PathMode, Route};
use crate::state::{LookupError, Shared};

/// What a request is sent to.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The node.
    pub node: Arc<Node>,
    /// Where the edge connects.
    pub upstream: Endpoint,
    /// The request target sent upstream.
    pub target: String,
    /// The header rewriting for this request.
    pub reverse: ReverseMap,
    /// The user a home route was resolved for.
    pub user: Option<String>,
}

/// Why a request is answered by the edge itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// No route matches the path.
    NoRoute,
    /// `/healthz`.
    Health,
    /// The route's node is not in the table.
    NoNode,
    /// A gateway request without any user name: ask for Basic credentials.
    NeedUser,
    /// The user is unknown or has no home node.
    UnknownUser,
    /// The directory cannot be asked.
    DirectoryDown,
}

impl Reject {
    /// Status and plain-text body.
    pub fn response(&self) -> (u16, &'static str) {
        match self {
            Reject::NoRoute => (404, "404 no route for this path\n"),
            Reject::Health => (200, "ok\n"),
            Reject::NoNode => (503, "503 no node available for this route\n"),
            Reject::NeedUser => (401, "401 authentication required\n"),
            Reject::UnknownUser => (404, "404 unknown user or no home node\n"),
            Reject::DirectoryDown => (503, "503 directory unavailable\n"),
        }
    }
}

/// The request facts routing needs.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// Request target (path and query).
    pub target: &'a str,
    /// `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The public origin the client used.
    pub public: &'a Origin,
}

/// Builds the public origin of a request: the configured one, or the
/// listener's scheme with the client's `Host` (or HTTP/2 authority).
pub fn public_origin(
    configured: Option<&Origin>,
    tls: bool,
    host: Option<&str>,
    local_port: Option<u16>,
) -> Origin {
    if let Some(o) = configured {
        return o.clone();
    }
    let default = if tls { 443 } else { 80 };
    match host.and_then(crate::nodes::host_header) {
        Some((h, p)) => Origin::new(tls, &h, p.unwrap_or(default)),
        None => Origin::new(tls, "localhost", local_port.unwrap_or(default)),
    }
}

fn reverse_map(
    node: &Node,
    upstream: &Endpoint,
    route_prefix: Option<String>,
    mode: PathMode,
    public: &Origin,
    soap: bool,
) -> ReverseMap {
    let public_prefix = route_prefix.unwrap_or_default();
    let backend_prefix = match mode {
        PathMode::Keep => public_prefix.clone(),
        PathMode::Strip => String::new(),
    };
    let mut backends = vec![upstream.origin()];
    // A gateway service only names itself; the node's SOAP URLs are not its.
    for o in node.internal.iter().filter(|_| soap) {
        if !backends.contains(o) {
            backends.push(o.clone());
        }
    }
    ReverseMap {
        backends,
        backend_prefix,
        public: public.clone(),
        public_prefix,
    }
}

/// Classifies a request against a table snapshot.
pub fn classify(table: &NodeTable, target: &str) -> Route {
    route::classify(target, |k| table.by_key(k).is_some())
}

/// Decides where a request goes.
pub async fn decide(
    shared: &Shared,
    table: &NodeTable,
    route: &Route,
    req: RequestInfo<'_>,
) -> Result<Decision, Reject> {
    let cfg = &shared.cfg;
    match route {
        Route::NotFound => Err(Reject::NoRoute),
        Route::Health => Err(Reject::Health),
        Route::Default { .. } | Route::Node { .. } => {
            let (node, mode) = match route {
                Route::Node { key } => (table.by_key(key), cfg.node_mode),
                _ => (table.default_node(), cfg.kopano_mode),
            };
            let node = node.ok_or(Reject::NoNode)?.clone();
            let prefix = route.prefix();
            let target = route::upstream_path(req.target, prefix.as_deref(), mode);
            let upstream = node.soap.clone();
            let reverse = reverse_map(&node, &upstream, prefix, mode, req.public, true);
            Ok(Decision {
                node,
                upstream,
                target,
                reverse,
                user: None,
            })
        }
        Route::Home(kind) => {
            let path = route::path_of(req.target);
            let query = req.target.split_once('?').map(|(_, q)| q);
            let user = identity::request_user(*kind, req.authorization, path, query)
                .ok_or(Reject::NeedUser)?;
            let home = shared.home.as_ref().ok_or(Reject::NoNode)?;
            let server = match home.home_server(&user).await {
                Ok(Some(s)) => s,
                Ok(None) | Err(LookupError::UnknownUser) => return Err(Reject::UnknownUser),
                Err(LookupError::Unavailable(e)) => {
                    tracing::warn!(%user, "home-node lookup failed: {e}");
                    return Err(Reject::DirectoryDown);
                }
            };
            let node = table.by_name(&server).ok_or(Reject::NoNode)?.clone();
            let (tls, port) = match kind {
                HomeKind::ActiveSync => cfg.activesync,
                HomeKind::CalDav => cfg.caldav,
            };
            let upstream = Endpoint {
                tls,
                host: node.host.clone(),
                port,
            };
            let reverse = reverse_map(&node, &upstream, None, PathMode::Keep, req.public, false);
            Ok(Decision {
                node,
                upstream,
                target: req.target.to_string(),
                reverse,
                user: Some(user),
            })
        }
    }
}
