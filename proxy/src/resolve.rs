//! Node name resolution: hickory-resolver with a small TTL cache in front.
//!
//! Pingora's `HttpPeer::new` resolves names with blocking `std` calls and
//! panics when that fails, so the edge always hands pingora a socket address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use parking_lot::Mutex;

/// Resolution failed.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The resolver could not be set up from the system configuration.
    #[error("cannot set up the DNS resolver: {0}")]
    Setup(String),
    /// The name has no usable address.
    #[error("cannot resolve '{host}': {reason}")]
    Lookup {
        /// The name looked up.
        host: String,
        /// What the resolver said.
        reason: String,
    },
}

/// Most names kept in the cache; the cache is cleared when it is full.
const MAX_ENTRIES: usize = 4096;

/// A caching resolver shared by all requests.
pub struct Resolver {
    inner: Option<TokioResolver>,
    ttl: Duration,
    cache: Mutex<HashMap<String, (IpAddr, Instant)>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver").field("ttl", &self.ttl).finish()
    }
}

impl Resolver {
    /// Builds the resolver from `/etc/resolv.conf` and `/etc/hosts`. When the
    /// system configuration cannot be read, only IP literals and
    /// `localhost` resolve.
    pub fn new(ttl: Duration) -> Resolver {
        let inner = TokioResolver::builder_tokio()
            .and_then(|b| b.build())
            .map_err(|e| tracing::warn!("DNS resolver unavailable: {e}"))
            .ok();
        Resolver {
            inner,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Resolves `host` (a name or IP literal) to one socket address.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, ResolveError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        if host.eq_ignore_ascii_case("localhost") {
            return Ok(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port));
        }
        if let Some((ip, at)) = self.cache.lock().get(host) {
            if at.elapsed() < self.ttl {
                return Ok(SocketAddr::new(*ip, port));
            }
        }
        let inner = self
            .inner
            .as_ref()
            .ok_or_else(|| ResolveError::Setup("no system DNS configuration".into()))?;
        let lookup = inner
            .lookup_ip(host)
            .await
            .map_err(|e| ResolveError::Lookup {
                host: host.to_string(),
                reason: e.to_string(),
            })?;
        let ip = lookup.iter().next().ok_or_else(|| ResolveError::Lookup {
            host: host.to_string(),
            reason: "no addresses".into(),
        })?;
        let mut cache = self.cache.lock();
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(host.to_string(), (ip, Instant::now()));
        Ok(SocketAddr::new(ip, port))
    }
}
