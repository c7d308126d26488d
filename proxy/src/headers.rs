//! Which request headers the edge removes, and which it sets.
//!
//! KC nodes trust two things from the edge: the proxy header (any request
//! carrying it marks the connection as proxied, and redirects then use the
//! LDAP proxy URL) and `X-Forwarded-For` (used as the session's source
//! address for `session_ip_check`). A client must not be able to set either,
//! nor any other forwarding or identity header.

/// Request headers whose names start with one of these are removed.
const STRIPPED_PREFIXES: [&str; 5] = [
    "x-forwarded-",
    "x-ssl-",
    "ssl-client-",
    "x-client-cert",
    "x-kc-",
];

/// Request headers with these exact names are removed.
const STRIPPED_NAMES: [&str; 10] = [
    "forwarded",
    "x-real-ip",
    "x-client-ip",
    "client-ip",
    "true-client-ip",
    "x-remote-user",
    "remote-user",
    "x-remote-addr",
    "x-authenticated-user",
    "x-original-url",
];

/// Whether two header names are equal when case and the `-`/`_` spelling
/// are ignored (so `Kopano-Proxy` also counts as `kopano_proxy`).
pub fn same_name_loosely(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).all(|(x, y)| {
            let norm = |c: u8| {
                if c == b'_' {
                    b'-'
                } else {
                    c.to_ascii_lowercase()
                }
            };
            norm(x) == norm(y)
        })
}

/// Whether a client-sent request header must be removed before the request
/// goes upstream. `proxy_header` is the configured marker name.
pub fn must_strip(name: &str, proxy_header: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    STRIPPED_PREFIXES.iter().any(|p| lower.starts_with(p))
        || STRIPPED_NAMES.contains(&lower.as_str())
        || (!proxy_header.is_empty() && same_name_loosely(&lower, proxy_header))
}

/// The names among `names` that [`must_strip`] selects, deduplicated.
pub fn names_to_strip<'a>(names: impl Iterator<Item = &'a str>, proxy_header: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if must_strip(n, proxy_header) && !out.iter().any(|o| o.eq_ignore_ascii_case(n)) {
            out.push(n.to_ascii_lowercase());
        }
    }
    out
}

/// Splits the `proxy_header` option (`name: value`, or a bare name, which
/// gets the value `yes`). Returns `None` when it is empty (header off) or
/// the name is not a valid header token.
pub fn parse_proxy_header(option: &str) -> Option<(String, String)> {
    let option = option.trim();
    if option.is_empty() {
        return None;
    }
    let (name, value) = match option.split_once(':') {
        Some((n, v)) => (n.trim(), v.trim()),
        None => (option, "yes"),
    };
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    if name.is_empty() || !name.bytes().all(token) || value.bytes().any(|c| c.is_ascii_control()) {
        return None;
    }
    Some((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_forwarding_and_identity_headers() {
        for n in [
            "X-Forwarded-For",
            "x-forwarded-host",
            "Forwarded",
            "X-Real-IP",
            "kopano_proxy",
            "Kopano-Proxy",
            "X-SSL-Client-DN",
            "X-Remote-User",
        ] {
            assert!(must_strip(n, "kopano_proxy"), "{n}");
        }
        for n in [
            "Host",
            "Authorization",
            "Content-Type",
            "kopano_proxyx",
            "Destination",
        ] {
            assert!(!must_strip(n, "kopano_proxy"), "{n}");
        }
        let v = names_to_strip(
            ["X-Forwarded-For", "x-forwarded-for", "Host"].into_iter(),
            "kopano_proxy",
        );
        assert_eq!(v, vec!["x-forwarded-for".to_string()]);
    }

    #[test]
    fn parses_proxy_header_option() {
        assert_eq!(
            parse_proxy_header("kopano_proxy: yes"),
            Some(("kopano_proxy".into(), "yes".into()))
        );
        assert_eq!(
            parse_proxy_header("zarafa_proxy"),
            Some(("zarafa_proxy".into(), "yes".into()))
        );
        assert_eq!(parse_proxy_header(""), None);
        assert_eq!(parse_proxy_header("bad name: x"), None);
    }
}
