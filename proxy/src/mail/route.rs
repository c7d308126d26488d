//! Where a mail login goes: the user's home node from the directory (the
//! default node when the directory names none, as in single-node set-ups),
//! that node's gateway port for the protocol, and the resolved address.

use std::sync::Arc;

use super::session::MailContext;
use super::upstream::Target;
use super::{MailConfig, Protocol};
use crate::nodes::{Node, NodeTable};
use crate::state::LookupError;

/// Why no node could be picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The directory does not know the user (a failed login).
    UnknownUser,
    /// Directory, node table or resolver trouble (try again later).
    Unavailable(String),
}

/// The node for a user whose home the directory gave as `home` (`None`:
/// no home recorded, or no directory).
pub fn pick_node(table: &NodeTable, home: Option<&str>) -> Result<Arc<Node>, RouteError> {
    match home {
        Some(name) => table.by_name(name).cloned().ok_or_else(|| {
            RouteError::Unavailable(format!("home node '{name}' is not in the node table"))
        }),
        None => table
            .default_node()
            .cloned()
            .ok_or_else(|| RouteError::Unavailable("no default node".into())),
    }
}

/// The port of a node's gateway for `protocol`.
pub fn gateway_port(cfg: &MailConfig, protocol: Protocol) -> u16 {
    match protocol {
        Protocol::Imap => cfg.node_imap_port,
        Protocol::Pop3 => cfg.node_pop3_port,
    }
}

/// Looks the user up and names the gateway to log in at, with the node's
/// name for the log.
pub async fn route(
    ctx: &MailContext,
    protocol: Protocol,
    user: &str,
) -> Result<(Target, String), RouteError> {
    let shared = &ctx.shared;
    let home = match &shared.home {
        Some(h) => match h.home_server(user).await {
            Ok(n) => n,
            Err(LookupError::UnknownUser) => return Err(RouteError::UnknownUser),
            Err(LookupError::Unavailable(e)) => return Err(RouteError::Unavailable(e)),
        },
        None => None,
    };
    let node = pick_node(&shared.nodes.load(), home.as_deref())?;
    let cfg = &ctx.cfg;
    let addr = shared
        .resolver
        .resolve(&node.host, gateway_port(cfg, protocol))
        .await
        .map_err(|e| RouteError::Unavailable(e.to_string()))?;
    Ok((
        Target {
            addr,
            host: node.host.clone(),
            mode: cfg.upstream_tls,
            tls: ctx.upstream_tls.clone(),
            connect_timeout: cfg.connect_timeout,
            reply_timeout: cfg.login_timeout,
        },
        node.name.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodes::NodeSpec;

    fn table(default: &str) -> NodeTable {
        let spec = |name: &str, addr: &str, public: bool| NodeSpec {
            name: name.into(),
            address: addr.into(),
            http_port: Some(236),
            ssl_port: None,
            proxy_url: None,
            contains_public: public,
            url: None,
        };
        let specs = vec![
            spec("node1", "10.0.0.1", false),
            spec("node2", "10.0.0.2", true),
        ];
        NodeTable::build(specs, default, false).0
    }

    #[test]
    fn home_node_else_default_node() {
        let t = table("");
        assert_eq!(pick_node(&t, Some("node1")).unwrap().name, "node1");
        // Directory names compare case-insensitively, as KC does.
        assert_eq!(pick_node(&t, Some("NODE1")).unwrap().name, "node1");
        // No home: the default node (the public-store node here).
        assert_eq!(pick_node(&t, None).unwrap().name, "node2");
        assert!(matches!(
            pick_node(&t, Some("gone")),
            Err(RouteError::Unavailable(e)) if e.contains("gone")
        ));
        let none = table("nonexistent");
        assert!(matches!(
            pick_node(&none, None),
            Err(RouteError::Unavailable(_))
        ));
    }

    #[test]
    fn gateway_port_per_protocol() {
        let cfg = MailConfig {
            node_imap_port: 1143,
            node_pop3_port: 1110,
            ..MailConfig::default()
        };
        assert_eq!(gateway_port(&cfg, Protocol::Imap), 1143);
        assert_eq!(gateway_port(&cfg, Protocol::Pop3), 1110);
    }
}
