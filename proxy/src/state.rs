//! State shared by every request: settings, the node table, the resolver,
//! metrics and the access log.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;

use crate::access_log::AccessLog;
use crate::metrics::Metrics;
use crate::nodes::NodeTable;
use crate::resolve::Resolver;
use crate::reverse::Origin;
use crate::route::PathMode;

/// Request-handling settings, read once at start-up.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// The proxy header name and value; `None` disables it.
    pub proxy_header: Option<(String, String)>,
    /// Path handling of `/kopano` and `/zarafa`.
    pub kopano_mode: PathMode,
    /// Path handling of `/zN`.
    pub node_mode: PathMode,
    /// Scheme (TLS?) and port of each node's ActiveSync service.
    pub activesync: (bool, u16),
    /// Scheme (TLS?) and port of each node's CalDAV service.
    pub caldav: (bool, u16),
    /// A fixed public origin; `None`: taken from each request.
    pub public_url: Option<Origin>,
    /// `Alt-Svc` value advertising HTTP/3, if enabled.
    pub alt_svc: Option<String>,
    /// Largest SOAP reply held back for rewriting.
    pub soap_limit: usize,
    /// Connect and TLS-handshake timeout to nodes.
    pub connect_timeout: Duration,
    /// Read timeout on node replies (long polls).
    pub read_timeout: Duration,
    /// Idle time of client keep-alive connections and of pooled node
    /// connections (`keepalive_timeout`).
    pub idle_timeout: Duration,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            proxy_header: Some(("kopano_proxy".into(), "yes".into())),
            kopano_mode: PathMode::Strip,
            node_mode: PathMode::Keep,
            activesync: (false, 80),
            caldav: (false, 8080),
            public_url: None,
            alt_svc: None,
            soap_limit: 1 << 20,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(900),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Why a home-node lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The user does not exist.
    #[error("unknown user")]
    UnknownUser,
    /// The directory cannot be reached.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
}

/// Finds a user's home node name; implemented over `kc_directory` (and by
/// test doubles).
#[async_trait]
pub trait HomeLookup: Send + Sync {
    /// The name of the user's home server, `None` if the user has none.
    async fn home_server(&self, login: &str) -> Result<Option<String>, LookupError>;
    /// Directory cache hits and misses so far.
    fn cache_stats(&self) -> (u64, u64) {
        (0, 0)
    }
}

/// Everything the request phases share.
pub struct Shared {
    /// Settings.
    pub cfg: EdgeConfig,
    /// The current node table, swapped as a whole on refresh.
    pub nodes: ArcSwap<NodeTable>,
    /// Home-node lookups; `None` when no directory is configured.
    pub home: Option<Arc<dyn HomeLookup>>,
    /// Node name resolution.
    pub resolver: Resolver,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// The access log, if enabled.
    pub access_log: Option<AccessLog>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}
