//! The directory side of the edge: home-node lookups for gateway requests,
//! and the node table refresh from the directory's server objects.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kc_directory::{DirError, Directory, Server};

use crate::nodes::{NodeSpec, NodeTable};
use crate::state::{HomeLookup, LookupError, Shared};

/// [`HomeLookup`] over the kc directory (its cache answers repeated
/// lookups).
#[derive(Debug, Clone)]
pub struct DirectoryHome(pub Directory);

#[async_trait]
impl HomeLookup for DirectoryHome {
    async fn home_server(&self, login: &str) -> Result<Option<String>, LookupError> {
        match self.0.user(login).await {
            Ok(u) => Ok(u.home_server),
            Err(e) if e.is_negative_answer() || e == DirError::InvalidCredentials => {
                Err(LookupError::UnknownUser)
            }
            Err(e) => Err(LookupError::Unavailable(e.to_string())),
        }
    }

    fn cache_stats(&self) -> (u64, u64) {
        let s = self.0.stats();
        (s.hits, s.misses)
    }
}

/// A directory server object as a node spec.
pub fn spec_of(s: &Server) -> NodeSpec {
    NodeSpec {
        name: s.name.clone(),
        address: s.address.clone(),
        http_port: s.http_port,
        ssl_port: s.ssl_port,
        proxy_url: s.proxy_url.clone(),
        contains_public: s.contains_public,
        url: None,
    }
}

/// Node table inputs that do not change at run time.
#[derive(Debug, Clone)]
pub struct TableSource {
    /// Static nodes from proxy.cfg (they win over directory nodes).
    pub static_nodes: Vec<NodeSpec>,
    /// The `/kopano` node name; empty = automatic.
    pub default_node: String,
    /// Use the SSL port of directory nodes (an upstream CA is configured).
    pub prefer_tls: bool,
}

impl TableSource {
    /// Builds a table from the static nodes plus `servers`, logging skipped
    /// entries.
    pub fn build(&self, servers: &[Server]) -> NodeTable {
        let specs = self
            .static_nodes
            .iter()
            .cloned()
            .chain(servers.iter().map(spec_of));
        let (table, errors) = NodeTable::build(specs, &self.default_node, self.prefer_tls);
        for e in errors {
            tracing::warn!("node skipped: {e}");
        }
        table
    }
}

/// Re-reads the server objects every `period` and swaps in a new table when
/// the directory answers; on errors the previous table stays.
pub async fn refresh_loop(
    dir: Directory,
    source: TableSource,
    shared: Arc<Shared>,
    period: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        match dir.servers().await {
            Ok(servers) => {
                let table = source.build(&servers);
                shared.nodes.store(Arc::new(table));
            }
            Err(e) => tracing::warn!("node list refresh failed, keeping the previous one: {e}"),
        }
    }
}
