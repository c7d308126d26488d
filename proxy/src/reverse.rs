//! ProxyPassReverse: keeping clients on the public hostname.
//!
//! Apache's `ProxyPassReverse` rewrites the `Location`, `Content-Location`
//! and `URI` headers of responses, and `mod_proxy_http` maps the WebDAV
//! `Destination` request header the other way. [`ReverseMap`] is one such
//! mapping between a backend URL prefix and the public URL prefix of a route.
//! Everything here is a pure string function.

/// Response headers that carry backend URLs (Apache's list).
pub const RESPONSE_HEADERS: [&str; 3] = ["location", "content-location", "uri"];

/// Request header carrying a public URL that the backend must see as its own
/// (WebDAV MOVE/COPY).
pub const REQUEST_HEADER: &str = "destination";

/// The scheme, host and port of an absolute `http`/`https` URL, normalised
/// for comparison (lowercase host, default port filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Lowercase host, IPv6 literals without brackets.
    pub host: String,
    /// Explicit or default port.
    pub port: u16,
}

impl Origin {
    /// Builds an origin from parts.
    pub fn new(tls: bool, host: &str, port: u16) -> Origin {
        Origin {
            scheme: if tls { "https" } else { "http" },
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase(),
            port,
        }
    }

    /// Renders the origin as a URL prefix without a trailing slash, leaving
    /// out the default port.
    pub fn to_url(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default {
            format!("{}://{}", self.scheme, host)
        } else {
            format!("{}://{}:{}", self.scheme, host, self.port)
        }
    }

    /// Parses `http(s)://authority` from the start of `url` and returns the
    /// origin and the rest (path, query, fragment; possibly empty). Returns
    /// `None` for other schemes, user-info and malformed authorities.
    pub fn split(url: &str) -> Option<(Origin, &str)> {
        let (scheme, rest, default) = if let Some(r) = strip_prefix_fold(url, "https://") {
            ("https", r, 443)
        } else if let Some(r) = strip_prefix_fold(url, "http://") {
            ("http", r, 80)
        } else {
            return None;
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (host, port) = split_host_port(authority)?;
        Some((
            Origin {
                scheme,
                host: host.to_ascii_lowercase(),
                port: port.unwrap_or(default),
            },
            tail,
        ))
    }
}

fn strip_prefix_fold<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Splits an authority (`host`, `host:port`, `[v6]:port`) into host and
/// optional port. Rejects user-info, empty hosts and bad ports.
pub fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    if let Some(rest) = authority.strip_prefix('[') {
        let close = rest.find(']')?;
        let host = &rest[..close];
        let after = &rest[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host, port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            if host.is_empty() {
                return None;
            }
            Some((host, Some(port.parse().ok()?)))
        }
        Some(_) => None,
        None => Some((authority, None)),
    }
}

/// Whether `path` starts with `prefix` at a segment boundary. An empty
/// prefix matches every path.
fn segment_rest<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    if prefix.is_empty() || prefix.ends_with('/') || rest.is_empty() {
        return Some(rest);
    }
    matches!(rest.as_bytes()[0], b'/' | b'?' | b'#').then_some(rest)
}

/// Joins a prefix and a remainder so that exactly one `/` separates them.
/// An empty remainder leaves the prefix as it is; the result is never empty.
fn join(prefix: &str, rest: &str) -> String {
    let out = match (prefix.ends_with('/'), rest.starts_with('/')) {
        (_, _) if rest.is_empty() => prefix.to_string(),
        (true, true) => format!("{prefix}{}", &rest[1..]),
        (false, false) => format!("{prefix}/{rest}"),
        _ => format!("{prefix}{rest}"),
    };
    if out.is_empty() {
        "/".to_string()
    } else {
        out
    }
}

/// One ProxyPassReverse mapping of a route.
#[derive(Debug, Clone)]
pub struct ReverseMap {
    /// The origins under which the backend may name itself (the address
    /// the edge connects to and the node's URLs from the directory). The
    /// first one is used when writing backend URLs.
    pub backends: Vec<Origin>,
    /// The path prefix the backend sees: the route prefix when the path is
    /// kept, empty when it is stripped.
    pub backend_prefix: String,
    /// The public origin the client used (scheme and `Host`).
    pub public: Origin,
    /// The public path prefix of the route (`/z2`), empty for home routes.
    pub public_prefix: String,
}

impl ReverseMap {
    /// Rewrites a backend URL from a response header into the public one.
    /// Returns `None` when the value does not point at this backend.
    ///
    /// Absolute-path values (`/x`) are only rewritten when the backend and
    /// public prefixes differ (a stripped route): the backend's `/x` is then
    /// the client's `/kopano/x`.
    pub fn to_public(&self, value: &str) -> Option<String> {
        let value = value.trim();
        if value.starts_with('/') && !value.starts_with("//") {
            if self.backend_prefix == self.public_prefix {
                return None;
            }
            let rest = segment_rest(value, &self.backend_prefix)?;
            return Some(join(&self.public_prefix, rest));
        }
        let (origin, path) = Origin::split(value)?;
        if !self.backends.contains(&origin) {
            return None;
        }
        // The backend's root (`https://node:237/`, how KC names a node) maps
        // to the route's root, even when the route keeps its prefix.
        let public_path = if path.is_empty() || path == "/" {
            join(&self.public_prefix, "/")
        } else {
            join(
                &self.public_prefix,
                segment_rest(path, &self.backend_prefix)?,
            )
        };
        Some(format!("{}{}", self.public.to_url(), public_path))
    }

    /// Rewrites a public URL from a request header (`Destination`) into the
    /// backend's view. Returns `None` when the value points elsewhere.
    pub fn to_backend(&self, value: &str) -> Option<String> {
        let value = value.trim();
        let backend = self.backends.first()?;
        let (path, absolute) = if value.starts_with('/') && !value.starts_with("//") {
            (value, false)
        } else {
            let (origin, path) = Origin::split(value)?;
            if origin != self.public {
                return None;
            }
            (path, true)
        };
        let rest = segment_rest(path, &self.public_prefix)?;
        let backend_path = join(&self.backend_prefix, rest);
        if absolute {
            Some(format!("{}{}", backend.to_url(), backend_path))
        } else if backend_path == path {
            None
        } else {
            Some(backend_path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(keep: bool) -> ReverseMap {
        ReverseMap {
            backends: vec![
                Origin::new(true, "z2.internal", 237),
                Origin::new(false, "10.0.0.2", 236),
            ],
            backend_prefix: if keep { "/z2".into() } else { String::new() },
            public: Origin::new(true, "edge.example", 8443),
            public_prefix: "/z2".into(),
        }
    }

    #[test]
    fn parses_origins() {
        let (o, rest) = Origin::split("HTTPS://Edge.Example/x?y").unwrap();
        assert_eq!(o, Origin::new(true, "edge.example", 443));
        assert_eq!(rest, "/x?y");
        let (o, rest) = Origin::split("http://[::1]:8080").unwrap();
        assert_eq!(o, Origin::new(false, "::1", 8080));
        assert_eq!(rest, "");
        assert_eq!(o.to_url(), "http://[::1]:8080");
        assert!(Origin::split("ftp://x/").is_none());
        assert!(Origin::split("http://u:p@x/").is_none());
        assert!(Origin::split("http://x:99999/").is_none());
        assert!(Origin::split("http://:80/").is_none());
    }

    #[test]
    fn keep_mode_maps_full_urls_only() {
        let m = map(true);
        assert_eq!(
            m.to_public("https://z2.internal:237/z2/a?b").as_deref(),
            Some("https://edge.example:8443/z2/a?b")
        );
        assert_eq!(
            m.to_public("http://10.0.0.2:236/z2").as_deref(),
            Some("https://edge.example:8443/z2")
        );
        assert_eq!(
            m.to_public("https://z2.internal:237/").as_deref(),
            Some("https://edge.example:8443/z2/")
        );
        assert_eq!(m.to_public("https://z2.internal:237/other"), None);
        assert_eq!(m.to_public("https://elsewhere/z2/a"), None);
        assert_eq!(m.to_public("/z2/a"), None);
        assert_eq!(m.to_public("relative"), None);
    }

    #[test]
    fn strip_mode_adds_prefix() {
        let m = map(false);
        assert_eq!(
            m.to_public("https://z2.internal:237/a").as_deref(),
            Some("https://edge.example:8443/z2/a")
        );
        assert_eq!(
            m.to_public("https://z2.internal:237").as_deref(),
            Some("https://edge.example:8443/z2/")
        );
        assert_eq!(m.to_public("/a").as_deref(), Some("/z2/a"));
        assert_eq!(m.to_public("//evil/a"), None);
    }

    #[test]
    fn maps_destination_to_backend() {
        let m = map(false);
        assert_eq!(
            m.to_backend("https://edge.example:8443/z2/cal/x.ics")
                .as_deref(),
            Some("https://z2.internal:237/cal/x.ics")
        );
        assert_eq!(m.to_backend("/z2/cal/x.ics").as_deref(), Some("/cal/x.ics"));
        assert_eq!(m.to_backend("https://other/z2/x"), None);
        let k = map(true);
        assert_eq!(
            k.to_backend("https://edge.example:8443/z2/x").as_deref(),
            Some("https://z2.internal:237/z2/x")
        );
        assert_eq!(k.to_backend("/z2/x"), None);
        let home = ReverseMap {
            backends: vec![Origin::new(false, "10.0.0.2", 8080)],
            backend_prefix: String::new(),
            public: Origin::new(true, "edge.example", 443),
            public_prefix: String::new(),
        };
        assert_eq!(
            home.to_backend("https://edge.example/caldav/u/x.ics")
                .as_deref(),
            Some("http://10.0.0.2:8080/caldav/u/x.ics")
        );
        assert_eq!(
            home.to_public("http://10.0.0.2:8080/caldav/u/").as_deref(),
            Some("https://edge.example/caldav/u/")
        );
    }
}
