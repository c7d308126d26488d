//! Who a gateway request is for, so that it can be sent to the user's home
//! node: from HTTP Basic credentials, from the ActiveSync `User=` parameter
//! (plain or base64-encoded query, MS-ASHTTP §2.2.1.1.1), or from the
//! principal segment of a CalDAV/iCal URL.
//!
//! The edge does not check the password; the home node does. A wrong user
//! name only sends the request to a node that will refuse it.

use base64::Engine;

use crate::route::HomeKind;

/// The longest user name taken from a request.
pub const MAX_USER: usize = 256;

/// Decodes `%XX` escapes (and `+` as space when `plus` is set). Returns
/// `None` for malformed escapes or non-UTF-8 results.
pub fn percent_decode(s: &str, plus: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                out.push(v);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Normalises a login: drops a Windows `DOMAIN\` prefix (as Z-Push does),
/// trims, and rejects empty, over-long or control-character names.
fn clean(user: &str) -> Option<String> {
    let user = user.rsplit('\\').next().unwrap_or(user).trim();
    if user.is_empty() || user.len() > MAX_USER || user.chars().any(char::is_control) {
        return None;
    }
    Some(user.to_string())
}

/// The user of an `Authorization: Basic` header value.
pub fn basic_user(authorization: &str) -> Option<String> {
    let (scheme, cred) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(cred.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let user = text.split_once(':').map_or(text.as_str(), |(u, _)| u);
    clean(user)
}

/// The `User` of an ActiveSync query string, plain (`Cmd=Sync&User=u&...`)
/// or base64-encoded.
pub fn activesync_user(query: &str) -> Option<String> {
    if query.contains('=') && !looks_base64(query) {
        for pair in query.split('&') {
            if let Some((k, v)) = pair.split_once('=') {
                if k.eq_ignore_ascii_case("User") {
                    return clean(&percent_decode(v, true)?);
                }
            }
        }
        return None;
    }
    let text = percent_decode(query, false)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    activesync_binary_user(&raw)
}

/// A base64 query has no `&` and `=` only as trailing padding.
fn looks_base64(q: &str) -> bool {
    let body = q
        .trim_end_matches('=')
        .trim_end_matches("%3D")
        .trim_end_matches("%3d");
    !body.contains('=') && !body.contains('&')
}

/// Parses the binary query of MS-ASHTTP §2.2.1.1.1.1: protocol version,
/// command code, locale (2 bytes), device id, policy key and device type
/// (each length-prefixed), then tag-length-value command parameters, where
/// tag 8 is `User`.
pub fn activesync_binary_user(raw: &[u8]) -> Option<String> {
    let mut p = raw.get(4..)?;
    for _ in 0..3 {
        let (&len, rest) = p.split_first()?;
        p = rest.get(usize::from(len)..)?;
    }
    while let Some((&tag, rest)) = p.split_first() {
        let (&len, rest) = rest.split_first()?;
        let value = rest.get(..usize::from(len))?;
        if tag == 8 {
            return clean(std::str::from_utf8(value).ok()?);
        }
        p = &rest[usize::from(len)..];
    }
    None
}

/// The principal segment of a CalDAV/iCal path: `/caldav/USER/...` or
/// `/ical/USER/...` (percent-decoded).
pub fn url_principal(path: &str) -> Option<String> {
    let rest = path
        .strip_prefix("/caldav/")
        .or_else(|| path.strip_prefix("/ical/"))?;
    let seg = rest.split('/').next()?;
    clean(&percent_decode(seg, false)?)
}

/// Picks the user a gateway request is for: Basic credentials first (they
/// are what the node will authenticate), then the protocol-specific hint.
pub fn request_user(
    kind: HomeKind,
    authorization: Option<&str>,
    path: &str,
    query: Option<&str>,
) -> Option<String> {
    if let Some(u) = authorization.and_then(basic_user) {
        return Some(u);
    }
    match kind {
        HomeKind::ActiveSync => query.and_then(activesync_user),
        HomeKind::CalDav => url_principal(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn basic_auth() {
        let v = format!("Basic {}", b64(b"alice:secret:with:colons"));
        assert_eq!(basic_user(&v).as_deref(), Some("alice"));
        let v = format!("basic {}", b64(b"CORP\\bob:x"));
        assert_eq!(basic_user(&v).as_deref(), Some("bob"));
        assert_eq!(basic_user("Bearer abc"), None);
        assert_eq!(basic_user("Basic !!!"), None);
        assert_eq!(basic_user(&format!("Basic {}", b64(b":x"))), None);
    }

    #[test]
    fn plain_activesync_query() {
        assert_eq!(
            activesync_user("Cmd=Sync&User=carol%40example.org&DeviceId=1&DeviceType=x").as_deref(),
            Some("carol@example.org")
        );
        assert_eq!(activesync_user("Cmd=Sync&DeviceId=1"), None);
    }

    #[test]
    fn base64_activesync_query() {
        // version 14.1, Sync, locale 0x0409, device id "dev1", no policy key,
        // device type "iPhone", then Options(7) and User(8).
        let mut raw = vec![141, 0, 0x09, 0x04, 4];
        raw.extend_from_slice(b"dev1");
        raw.push(0);
        raw.push(6);
        raw.extend_from_slice(b"iPhone");
        raw.extend_from_slice(&[7, 1, 0]);
        raw.push(8);
        raw.push(4);
        raw.extend_from_slice(b"dave");
        let q = b64(&raw);
        assert_eq!(activesync_user(&q).as_deref(), Some("dave"));
        let escaped = q.replace('=', "%3D").replace('+', "%2B");
        assert_eq!(activesync_user(&escaped).as_deref(), Some("dave"));
        assert_eq!(activesync_binary_user(&raw[..raw.len() - 1]), None);
        assert_eq!(activesync_binary_user(&[]), None);
    }

    #[test]
    fn principal_and_priority() {
        assert_eq!(
            url_principal("/caldav/erin/Calendar/").as_deref(),
            Some("erin")
        );
        assert_eq!(url_principal("/ical/a%20b").as_deref(), Some("a b"));
        assert_eq!(url_principal("/caldav/"), None);
        let auth = format!("Basic {}", b64(b"frank:x"));
        assert_eq!(
            request_user(HomeKind::CalDav, Some(&auth), "/caldav/erin/", None).as_deref(),
            Some("frank")
        );
        assert_eq!(
            request_user(HomeKind::CalDav, None, "/caldav/erin/", None).as_deref(),
            Some("erin")
        );
        assert_eq!(
            request_user(
                HomeKind::ActiveSync,
                None,
                "/Microsoft-Server-ActiveSync",
                Some("User=g")
            )
            .as_deref(),
            Some("g")
        );
    }
}
