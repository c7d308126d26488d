//! Request classification: which route a request path belongs to, and how the
//! path is rewritten for the upstream.
//!
//! Pure functions over strings, so they can be unit-tested and fuzzed without
//! any I/O. The node table itself lives in [`crate::nodes`]; this module only
//! needs a way to ask whether a `/zN` key is known.

/// How a route passes its public prefix to the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathMode {
    /// Forward the path unchanged (`/z2/x` reaches the node as `/z2/x`), as in
    /// the multi-server reverse-proxy example of the KC manual (§6.8).
    Keep,
    /// Remove the public prefix (`/kopano/x` reaches the node as `/x`), as in
    /// the single-server example of the KC manual (§5.9.1.1.1).
    Strip,
}

impl PathMode {
    /// Parses the configuration spelling (`keep` or `strip`, case-insensitive).
    pub fn parse(s: &str) -> Option<PathMode> {
        if s.eq_ignore_ascii_case("keep") {
            Some(PathMode::Keep)
        } else if s.eq_ignore_ascii_case("strip") {
            Some(PathMode::Strip)
        } else {
            None
        }
    }
}

/// The protocols whose requests go to the user's home node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeKind {
    /// `/Microsoft-Server-ActiveSync` (Z-Push).
    ActiveSync,
    /// `/caldav/`, `/ical/` and `/.well-known/caldav` (kopano-ical).
    CalDav,
}

impl HomeKind {
    /// A short label for logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            HomeKind::ActiveSync => "activesync",
            HomeKind::CalDav => "caldav",
        }
    }
}

/// What a request path was classified as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/kopano` or `/zarafa`: SOAP on the default node. `prefix` is the
    /// matched public prefix (`/kopano`).
    Default { prefix: &'static str },
    /// `/zN`: SOAP (or anything else) on node `key` (`z2`).
    Node { key: String },
    /// A gateway path that goes to the authenticated user's home node.
    Home(HomeKind),
    /// `/healthz` on the public listener.
    Health,
    /// Nothing matched.
    NotFound,
}

impl Route {
    /// A bounded-cardinality label for metrics and the access log.
    pub fn label(&self) -> String {
        match self {
            Route::Default { .. } => "default".to_string(),
            Route::Node { key } => key.clone(),
            Route::Home(kind) => kind.label().to_string(),
            Route::Health => "healthz".to_string(),
            Route::NotFound => "none".to_string(),
        }
    }

    /// The public path prefix this route owns, used for path stripping and for
    /// ProxyPassReverse. Home routes have no prefix of their own: the gateway
    /// paths are forwarded unchanged.
    pub fn prefix(&self) -> Option<String> {
        match self {
            Route::Default { prefix } => Some((*prefix).to_string()),
            Route::Node { key } => Some(format!("/{key}")),
            _ => None,
        }
    }
}

/// Returns the path part of a request target (everything before `?`).
pub fn path_of(path_and_query: &str) -> &str {
    match path_and_query.find('?') {
        Some(i) => &path_and_query[..i],
        None => path_and_query,
    }
}

/// Whether `path` is exactly `prefix` or continues it with `/` (so `/z2`
/// matches `/z2` and `/z2/x` but not `/z20`). ASCII case-insensitive when
/// `fold` is set.
fn has_segment_prefix(path: &str, prefix: &str, fold: bool) -> bool {
    let Some(head) = path.get(..prefix.len()) else {
        return false;
    };
    let same = if fold {
        head.eq_ignore_ascii_case(prefix)
    } else {
        head == prefix
    };
    same && matches!(path.as_bytes().get(prefix.len()), None | Some(b'/'))
}

/// Classifies a request target. `is_node` tells whether a route key such as
/// `z2` names a known node; it is consulted only for the first path segment.
pub fn classify(path_and_query: &str, is_node: impl Fn(&str) -> bool) -> Route {
    let path = path_of(path_and_query);
    for prefix in ["/kopano", "/zarafa"] {
        if has_segment_prefix(path, prefix, false) {
            return Route::Default { prefix };
        }
    }
    if has_segment_prefix(path, "/Microsoft-Server-ActiveSync", true) {
        return Route::Home(HomeKind::ActiveSync);
    }
    if has_segment_prefix(path, "/caldav", false)
        || has_segment_prefix(path, "/ical", false)
        || has_segment_prefix(path, "/.well-known/caldav", false)
    {
        return Route::Home(HomeKind::CalDav);
    }
    if path == "/healthz" {
        return Route::Health;
    }
    let first = path
        .strip_prefix('/')
        .map(|rest| rest.split('/').next().unwrap_or(""))
        .unwrap_or("");
    if !first.is_empty() && is_node(first) {
        return Route::Node {
            key: first.to_string(),
        };
    }
    Route::NotFound
}

/// Maps a public request target to the upstream one. With [`PathMode::Strip`]
/// the prefix is removed and an empty remainder becomes `/`; the query string
/// is kept in both modes.
pub fn upstream_path(path_and_query: &str, prefix: Option<&str>, mode: PathMode) -> String {
    let Some(prefix) = prefix else {
        return path_and_query.to_string();
    };
    if mode == PathMode::Keep || !path_and_query.starts_with(prefix) {
        return path_and_query.to_string();
    }
    let rest = &path_and_query[prefix.len()..];
    if rest.is_empty() || rest.starts_with('?') {
        format!("/{rest}")
    } else {
        rest.to_string()
    }
}

/// Derives the `/zN` route key of a node from its directory name.
///
/// KC's manual names the nodes `z1`, `z2` and exposes them as `/z1`, `/z2`;
/// a name such as `node2` or `kc-2` is exposed as `/z2` (its trailing digits),
/// so that the route does not depend on the LDAP proxy URL, which may be
/// missing. A name without trailing digits is used as it is, lowercased.
/// Returns `None` for names that cannot be a single path segment.
pub fn route_key(name: &str) -> Option<String> {
    let lower = name.trim().to_ascii_lowercase();
    if lower.is_empty()
        || !lower
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return None;
    }
    let digits_at = lower
        .bytes()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    if digits_at < lower.len() {
        let digits = lower[digits_at..].trim_start_matches('0');
        let digits = if digits.is_empty() { "0" } else { digits };
        return Some(format!("z{digits}"));
    }
    Some(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(k: &str) -> bool {
        k == "z1" || k == "z2"
    }

    #[test]
    fn classifies_soap_paths() {
        assert_eq!(
            classify("/kopano", nodes),
            Route::Default { prefix: "/kopano" }
        );
        assert_eq!(
            classify("/kopano/x?y=1", nodes),
            Route::Default { prefix: "/kopano" }
        );
        assert_eq!(
            classify("/zarafa", nodes),
            Route::Default { prefix: "/zarafa" }
        );
        assert_eq!(classify("/kopanox", nodes), Route::NotFound);
        assert_eq!(classify("/z2", nodes), Route::Node { key: "z2".into() });
        assert_eq!(classify("/z2/", nodes), Route::Node { key: "z2".into() });
        assert_eq!(classify("/z20", nodes), Route::NotFound);
        assert_eq!(classify("/z3/", nodes), Route::NotFound);
        assert_eq!(classify("/", nodes), Route::NotFound);
        assert_eq!(classify("", nodes), Route::NotFound);
        assert_eq!(classify("/healthz", nodes), Route::Health);
    }

    #[test]
    fn classifies_gateway_paths() {
        assert_eq!(
            classify("/Microsoft-Server-ActiveSync?User=a", nodes),
            Route::Home(HomeKind::ActiveSync)
        );
        assert_eq!(
            classify("/microsoft-server-activesync", nodes),
            Route::Home(HomeKind::ActiveSync)
        );
        assert_eq!(
            classify("/caldav/u/Calendar/", nodes),
            Route::Home(HomeKind::CalDav)
        );
        assert_eq!(classify("/ical/u/", nodes), Route::Home(HomeKind::CalDav));
        assert_eq!(
            classify("/.well-known/caldav", nodes),
            Route::Home(HomeKind::CalDav)
        );
        assert_eq!(classify("/caldavx", nodes), Route::NotFound);
    }

    #[test]
    fn maps_paths() {
        assert_eq!(
            upstream_path("/kopano", Some("/kopano"), PathMode::Strip),
            "/"
        );
        assert_eq!(
            upstream_path("/kopano/a", Some("/kopano"), PathMode::Strip),
            "/a"
        );
        assert_eq!(
            upstream_path("/kopano?x", Some("/kopano"), PathMode::Strip),
            "/?x"
        );
        assert_eq!(upstream_path("/z2/a", Some("/z2"), PathMode::Keep), "/z2/a");
        assert_eq!(
            upstream_path("/caldav/x", None, PathMode::Strip),
            "/caldav/x"
        );
    }

    #[test]
    fn derives_route_keys() {
        assert_eq!(route_key("z1").as_deref(), Some("z1"));
        assert_eq!(route_key("Node2").as_deref(), Some("z2"));
        assert_eq!(route_key("kc-02").as_deref(), Some("z2"));
        assert_eq!(route_key("alpha").as_deref(), Some("alpha"));
        assert_eq!(route_key("a/b"), None);
        assert_eq!(route_key(""), None);
    }
}
