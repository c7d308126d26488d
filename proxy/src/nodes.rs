//! The node table: which store nodes exist, their `/zN` route keys, where the
//! edge connects to them, and under which URLs they know themselves.
//!
//! Built from static `nodes` entries in proxy.cfg and the directory's server
//! objects (see [`crate::directory`]); rebuilt as a whole and swapped in
//! atomically, so a request always sees one consistent table.

use std::collections::HashMap;
use std::sync::Arc;

use crate::reverse::{split_host_port, Origin};
use crate::route::route_key;

/// Where the edge connects to reach a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Whether the connection uses TLS.
    pub tls: bool,
    /// Host name or IP literal (no brackets); also the TLS server name.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Endpoint {
    /// Parses `http(s)://host[:port][/...]`; the path is ignored.
    pub fn parse(url: &str) -> Option<Endpoint> {
        let (origin, _) = Origin::split(url)?;
        Some(Endpoint {
            tls: origin.scheme == "https",
            host: origin.host,
            port: origin.port,
        })
    }

    /// The endpoint as an origin, for URL comparisons.
    pub fn origin(&self) -> Origin {
        Origin::new(self.tls, &self.host, self.port)
    }
}

/// A node as a source describes it, before route keys are assigned.
#[derive(Debug, Clone, Default)]
pub struct NodeSpec {
    /// Unique node name (`cn` of the LDAP server object, or the static name).
    pub name: String,
    /// Host name or address.
    pub address: String,
    /// KC plain HTTP SOAP port.
    pub http_port: Option<u16>,
    /// KC HTTPS SOAP port.
    pub ssl_port: Option<u16>,
    /// The LDAP proxy URL, if set.
    pub proxy_url: Option<String>,
    /// Whether the node holds the public store.
    pub contains_public: bool,
    /// An explicit upstream URL (static nodes); overrides the port choice.
    pub url: Option<String>,
}

/// A routable node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Unique node name.
    pub name: String,
    /// Route key (`z2`), the first path segment of its public URL.
    pub key: String,
    /// Where SOAP requests for the node go.
    pub soap: Endpoint,
    /// Host used for the node's gateway services (ActiveSync, CalDAV).
    pub host: String,
    /// The origins under which the node may name itself in redirects.
    pub internal: Vec<Origin>,
    /// Whether the node holds the public store.
    pub contains_public: bool,
}

/// Why a node spec was left out of the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// The name cannot be a route key.
    #[error("node '{0}': the name cannot be used as a URL path segment")]
    BadName(String),
    /// Neither a usable URL nor an address and port.
    #[error("node '{0}': no usable address, port or URL")]
    NoEndpoint(String),
    /// Two nodes map to the same `/zN` key.
    #[error("nodes '{0}' and '{1}' both map to route /{2}")]
    DuplicateKey(String, String, String),
}

impl Node {
    /// Turns a spec into a node. `prefer_tls`: use the SSL port when the
    /// spec has one (only sensible when an upstream CA is configured).
    pub fn from_spec(spec: &NodeSpec, prefer_tls: bool) -> Result<Node, NodeError> {
        let key = route_key(&spec.name).ok_or_else(|| NodeError::BadName(spec.name.clone()))?;
        let address = spec
            .address
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let mut internal = Vec::new();
        if !address.is_empty() {
            if let Some(p) = spec.http_port {
                internal.push(Origin::new(false, &address, p));
            }
            if let Some(p) = spec.ssl_port {
                internal.push(Origin::new(true, &address, p));
            }
        }
        let soap = match spec.url.as_deref().and_then(Endpoint::parse) {
            Some(e) => e,
            None if address.is_empty() => return Err(NodeError::NoEndpoint(spec.name.clone())),
            None => match (spec.ssl_port, spec.http_port) {
                (Some(p), _) if prefer_tls => Endpoint {
                    tls: true,
                    host: address.clone(),
                    port: p,
                },
                (_, Some(p)) => Endpoint {
                    tls: false,
                    host: address.clone(),
                    port: p,
                },
                (Some(p), None) => Endpoint {
                    tls: true,
                    host: address.clone(),
                    port: p,
                },
                (None, None) => return Err(NodeError::NoEndpoint(spec.name.clone())),
            },
        };
        if !internal.contains(&soap.origin()) {
            internal.insert(0, soap.origin());
        }
        let host = if address.is_empty() {
            soap.host.clone()
        } else {
            address
        };
        Ok(Node {
            name: spec.name.clone(),
            key,
            soap,
            host,
            internal,
            contains_public: spec.contains_public,
        })
    }
}

/// An immutable snapshot of all nodes.
#[derive(Debug, Default)]
pub struct NodeTable {
    nodes: Vec<Arc<Node>>,
    by_key: HashMap<String, Arc<Node>>,
    by_name: HashMap<String, Arc<Node>>,
    default: Option<Arc<Node>>,
}

impl NodeTable {
    /// Builds a table. Static specs come first and win over directory specs
    /// of the same name. `default_name` picks the `/kopano` node; empty
    /// means the public-store node, else the first node. Specs that cannot
    /// be used are skipped and reported.
    pub fn build(
        specs: impl IntoIterator<Item = NodeSpec>,
        default_name: &str,
        prefer_tls: bool,
    ) -> (NodeTable, Vec<NodeError>) {
        let mut t = NodeTable::default();
        let mut errors = Vec::new();
        for spec in specs {
            if t.by_name.contains_key(&spec.name.to_ascii_lowercase()) {
                continue;
            }
            let node = match Node::from_spec(&spec, prefer_tls) {
                Ok(n) => Arc::new(n),
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if let Some(other) = t.by_key.get(&node.key) {
                errors.push(NodeError::DuplicateKey(
                    other.name.clone(),
                    node.name.clone(),
                    node.key.clone(),
                ));
                continue;
            }
            t.by_key.insert(node.key.clone(), node.clone());
            t.by_name
                .insert(node.name.to_ascii_lowercase(), node.clone());
            t.nodes.push(node);
        }
        t.default = if default_name.is_empty() {
            t.nodes
                .iter()
                .find(|n| n.contains_public)
                .or_else(|| t.nodes.first())
                .cloned()
        } else {
            t.by_name.get(&default_name.to_ascii_lowercase()).cloned()
        };
        (t, errors)
    }

    /// All nodes in source order.
    pub fn nodes(&self) -> &[Arc<Node>] {
        &self.nodes
    }

    /// The node behind `/key`.
    pub fn by_key(&self, key: &str) -> Option<&Arc<Node>> {
        self.by_key.get(key)
    }

    /// The node with this directory name (case-insensitive, as KC compares).
    pub fn by_name(&self, name: &str) -> Option<&Arc<Node>> {
        self.by_name.get(&name.to_ascii_lowercase())
    }

    /// The node behind `/kopano`.
    pub fn default_node(&self) -> Option<&Arc<Node>> {
        self.default.as_ref()
    }

    /// The node that names itself with this URL (for the SOAP safety net).
    pub fn by_url(&self, url: &str) -> Option<&Arc<Node>> {
        let (origin, _) = Origin::split(url)?;
        self.nodes.iter().find(|n| n.internal.contains(&origin))
    }
}

/// Parses the `nodes` option: space-separated `NAME=URL` pairs.
pub fn parse_static(option: &str) -> Result<Vec<NodeSpec>, String> {
    option
        .split_whitespace()
        .map(|item| {
            let (name, url) = item
                .split_once('=')
                .ok_or_else(|| format!("'{item}': expected NAME=URL"))?;
            if Endpoint::parse(url).is_none() {
                return Err(format!("'{item}': expected an http:// or https:// URL"));
            }
            Ok(NodeSpec {
                name: name.to_string(),
                url: Some(url.to_string()),
                ..NodeSpec::default()
            })
        })
        .collect()
}

/// Parses a `SCHEME:PORT` gateway upstream option (`http:8080`).
pub fn parse_service(option: &str) -> Option<(bool, u16)> {
    let (scheme, port) = option.trim().split_once(':')?;
    let tls = if scheme.eq_ignore_ascii_case("https") {
        true
    } else if scheme.eq_ignore_ascii_case("http") {
        false
    } else {
        return None;
    };
    Some((tls, port.parse().ok().filter(|p| *p > 0)?))
}

/// Parses `host[:port]` of a `Host` header; used to build the public origin.
pub fn host_header(value: &str) -> Option<(String, Option<u16>)> {
    split_host_port(value.trim()).map(|(h, p)| (h.to_ascii_lowercase(), p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str, addr: &str, public: bool) -> NodeSpec {
        NodeSpec {
            name: name.into(),
            address: addr.into(),
            http_port: Some(236),
            ssl_port: Some(237),
            proxy_url: None,
            contains_public: public,
            url: None,
        }
    }

    #[test]
    fn builds_from_directory_and_static() {
        let mut specs = parse_static("z1=http://127.0.0.1:9001").unwrap();
        specs.push(dir("z1", "10.0.0.1", false));
        specs.push(dir("node2", "10.0.0.2", true));
        specs.push(dir("bad/name", "10.0.0.3", false));
        specs.push(dir("n02", "10.0.0.4", false));
        let (t, errs) = NodeTable::build(specs, "", false);
        assert_eq!(errs.len(), 2);
        assert_eq!(t.nodes().len(), 2);
        assert_eq!(t.by_key("z1").unwrap().soap.port, 9001);
        let z2 = t.by_key("z2").unwrap();
        assert_eq!(z2.name, "node2");
        assert_eq!(
            z2.soap,
            Endpoint {
                tls: false,
                host: "10.0.0.2".into(),
                port: 236
            }
        );
        assert_eq!(t.default_node().unwrap().name, "node2");
        assert_eq!(t.by_url("https://10.0.0.2:237/").unwrap().name, "node2");
        assert!(t.by_url("https://10.0.0.9:237/").is_none());
        assert_eq!(t.by_name("NODE2").unwrap().key, "z2");
        let (t, _) = NodeTable::build(vec![dir("node2", "h", false)], "", true);
        assert!(t.by_key("z2").unwrap().soap.tls);
        let (t, _) = NodeTable::build(
            vec![dir("a1", "h", false), dir("a2", "h", false)],
            "a2",
            true,
        );
        assert_eq!(t.default_node().unwrap().name, "a2");
    }

    #[test]
    fn parses_options() {
        assert!(parse_static("x").is_err());
        assert!(parse_static("x=ftp://a").is_err());
        assert_eq!(parse_service("https:8443"), Some((true, 8443)));
        assert_eq!(parse_service("http:0"), None);
        assert_eq!(parse_service("gopher:1"), None);
        assert_eq!(host_header("Edge:8443"), Some(("edge".into(), Some(8443))));
    }
}
