//! KC's GetBestServerPath: which URL a client is sent to when a store lives on
//! another node (KC's multi-server redirect rules, KC manual §6.8). Pure, so
//! the whole rule table is unit tested.

use crate::kcerr::KcErr;

/// How the request that triggered the lookup reached this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnKind {
    /// Plain HTTP over TCP.
    Http,
    /// HTTP over TLS.
    Https,
    /// HTTP over the unix socket (`server_pipe_name`).
    Unix,
}

impl ConnKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnKind::Http => "http",
            ConnKind::Https => "https",
            ConnKind::Unix => "unix",
        }
    }
}

/// The URLs under which a node can be reached, as derived from its directory entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerPaths {
    /// The node's `server_name` (directory unique attribute).
    pub name: String,
    /// `file://<socket path>`, when the directory names a socket.
    pub file_path: Option<String>,
    /// `http://ADDR:PORT/`.
    pub http_path: Option<String>,
    /// `https://ADDR:PORT/`.
    pub ssl_path: Option<String>,
    /// `kopanoProxyURL`, used verbatim.
    pub proxy_path: Option<String>,
}

/// The result of [`best_server_path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestPath {
    /// The chosen URL, or `NOT_FOUND` when no usable URL is known.
    pub path: Result<String, KcErr>,
    /// The request was proxied but the target has no proxy URL; KC logs a
    /// warning ("Proxy path not set for server …") and falls through.
    pub proxy_path_missing: bool,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|v| !v.is_empty())
}

/// Choose the URL a client should use for `target`.
///
/// `proxied` is true when `proxy_header` is `*` or the incoming connection
/// carried the configured header; `this_server` is this node's `server_name`.
pub fn best_server_path(
    target: &ServerPaths,
    conn: ConnKind,
    proxied: bool,
    this_server: &str,
) -> BestPath {
    let mut proxy_path_missing = false;
    if proxied {
        if let Some(p) = non_empty(&target.proxy_path) {
            return BestPath {
                path: Ok(p.to_owned()),
                proxy_path_missing,
            };
        }
        proxy_path_missing = true;
    }
    // A socket path is only usable by a unix-socket client of this very node.
    if let Some(file) = non_empty(&target.file_path) {
        if conn == ConnKind::Unix && target.name.eq_ignore_ascii_case(this_server) {
            return BestPath {
                path: Ok(file.to_owned()),
                proxy_path_missing,
            };
        }
    }
    let http = non_empty(&target.http_path);
    let ssl = non_empty(&target.ssl_path);
    let chosen = match conn {
        ConnKind::Http => http.or(ssl),
        ConnKind::Https => ssl,
        ConnKind::Unix => ssl.or(http),
    };
    BestPath {
        path: chosen.map(str::to_owned).ok_or(KcErr::NOT_FOUND),
        proxy_path_missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(name: &str) -> ServerPaths {
        ServerPaths {
            name: name.into(),
            file_path: Some("file:///run/kc/n2.sock".into()),
            http_path: Some("http://n2:236/".into()),
            ssl_path: Some("https://n2:237/".into()),
            proxy_path: Some("https://edge.example/z2/".into()),
        }
    }

    fn path(t: &ServerPaths, c: ConnKind, proxied: bool, me: &str) -> Result<String, KcErr> {
        best_server_path(t, c, proxied, me).path
    }

    #[test]
    fn proxied_uses_proxy_url_for_every_connection_kind() {
        for c in [ConnKind::Http, ConnKind::Https, ConnKind::Unix] {
            let r = best_server_path(&full("n2"), c, true, "n1");
            assert_eq!(r.path.as_deref(), Ok("https://edge.example/z2/"));
            assert!(!r.proxy_path_missing);
            // Even for this node itself, and even on the socket.
            assert_eq!(
                path(&full("n1"), c, true, "n1").as_deref(),
                Ok("https://edge.example/z2/")
            );
        }
    }

    #[test]
    fn proxied_without_proxy_url_falls_through_with_warning() {
        let mut t = full("n2");
        t.proxy_path = None;
        let r = best_server_path(&t, ConnKind::Http, true, "n1");
        assert_eq!(r.path.as_deref(), Ok("http://n2:236/"));
        assert!(r.proxy_path_missing);
        t.proxy_path = Some(String::new());
        let r = best_server_path(&t, ConnKind::Https, true, "n1");
        assert_eq!(r.path.as_deref(), Ok("https://n2:237/"));
        assert!(r.proxy_path_missing);
    }

    #[test]
    fn not_proxied_ignores_proxy_url() {
        let r = best_server_path(&full("n2"), ConnKind::Http, false, "n1");
        assert_eq!(r.path.as_deref(), Ok("http://n2:236/"));
        assert!(!r.proxy_path_missing);
    }

    #[test]
    fn plain_http_prefers_http_then_ssl() {
        assert_eq!(
            path(&full("n2"), ConnKind::Http, false, "n1").as_deref(),
            Ok("http://n2:236/")
        );
        let mut t = full("n2");
        t.http_path = None;
        assert_eq!(
            path(&t, ConnKind::Http, false, "n1").as_deref(),
            Ok("https://n2:237/")
        );
    }

    #[test]
    fn tls_only_ssl() {
        assert_eq!(
            path(&full("n2"), ConnKind::Https, false, "n1").as_deref(),
            Ok("https://n2:237/")
        );
        let mut t = full("n2");
        t.ssl_path = None;
        assert_eq!(
            path(&t, ConnKind::Https, false, "n1"),
            Err(KcErr::NOT_FOUND)
        );
    }

    #[test]
    fn unix_prefers_ssl_then_http() {
        assert_eq!(
            path(&full("n2"), ConnKind::Unix, false, "n1").as_deref(),
            Ok("https://n2:237/")
        );
        let mut t = full("n2");
        t.ssl_path = None;
        assert_eq!(
            path(&t, ConnKind::Unix, false, "n1").as_deref(),
            Ok("http://n2:236/")
        );
    }

    #[test]
    fn pipe_only_for_unix_clients_of_this_node() {
        assert_eq!(
            path(&full("n1"), ConnKind::Unix, false, "N1").as_deref(),
            Ok("file:///run/kc/n2.sock")
        );
        assert_eq!(
            path(&full("n1"), ConnKind::Http, false, "n1").as_deref(),
            Ok("http://n2:236/")
        );
        assert_eq!(
            path(&full("n1"), ConnKind::Https, false, "n1").as_deref(),
            Ok("https://n2:237/")
        );
        // Another node's socket is never offered.
        assert_eq!(
            path(&full("n2"), ConnKind::Unix, false, "n1").as_deref(),
            Ok("https://n2:237/")
        );
    }

    #[test]
    fn nothing_left_is_not_found() {
        let t = ServerPaths {
            name: "n2".into(),
            file_path: Some("file:///x".into()),
            ..Default::default()
        };
        for c in [ConnKind::Http, ConnKind::Https, ConnKind::Unix] {
            assert_eq!(path(&t, c, false, "n1"), Err(KcErr::NOT_FOUND));
        }
        let r = best_server_path(&t, ConnKind::Http, true, "n1");
        assert_eq!(r.path, Err(KcErr::NOT_FOUND));
        assert!(r.proxy_path_missing);
    }
}
