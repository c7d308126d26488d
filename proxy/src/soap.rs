//! The SOAP redirect safety net.
//!
//! A KC node answers `getStore`, `getPublicStore` and `resolveUserStore` for a
//! user homed elsewhere with HTTP 200, `er` = `KCERR_UNABLE_TO_COMPLETE`
//! (2147483688) and the home node's URL in `lpszServerPath`. With the proxy
//! header that URL is the node's LDAP proxy URL; when that attribute is
//! missing it is the node's internal address, which a client outside the DMZ
//! cannot reach. This module finds that URL in a reply body and replaces it.
//!
//! Everything here is a pure function over bytes; the caller bounds the body
//! size (see [`crate::body`]).

use std::ops::Range;

/// `KCERR_UNABLE_TO_COMPLETE` as it appears in the `er` element.
pub const UNABLE_TO_COMPLETE: &str = "2147483688";

/// Whether a `Content-Type` value is one a SOAP reply uses.
pub fn is_soap_content_type(value: &str) -> bool {
    let mime = value.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case("text/xml") || mime.eq_ignore_ascii_case("application/soap+xml")
}

/// One element's text content: the byte range between `<name ...>` and the
/// next `<`. Returns the ranges of every element whose local name (the part
/// after an optional `prefix:`) equals `local`.
fn element_texts(body: &[u8], local: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &body[i..]) {
        let start = i + off + 1;
        let Some(close_off) = memchr::memchr(b'>', &body[start..]) else {
            break;
        };
        let close = start + close_off;
        let tag = &body[start..close];
        i = close + 1;
        if tag.first().is_some_and(|b| matches!(b, b'/' | b'?' | b'!')) || tag.ends_with(b"/") {
            continue;
        }
        let name_end = tag
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(tag.len());
        let name = &tag[..name_end];
        let local_name = match memchr::memrchr(b':', name) {
            Some(c) => &name[c + 1..],
            None => name,
        };
        if local_name != local {
            continue;
        }
        let text_end = memchr::memchr(b'<', &body[i..]).map_or(body.len(), |o| i + o);
        out.push(i..text_end);
    }
    out
}

/// If `body` is a redirect reply, returns the byte range of the
/// `lpszServerPath` text (untrimmed).
pub fn find_redirect(body: &[u8]) -> Option<Range<usize>> {
    let is_redirect = element_texts(body, b"er").into_iter().any(|r| {
        std::str::from_utf8(&body[r])
            .map(|t| t.trim() == UNABLE_TO_COMPLETE)
            .unwrap_or(false)
    });
    if !is_redirect {
        return None;
    }
    element_texts(body, b"lpszServerPath").into_iter().next()
}

/// Escapes the five XML special characters.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Rewrites the redirect URL of a redirect reply. `map` receives the URL
/// (trimmed; only `&amp;` is unescaped, the one entity a URL may carry) and
/// returns its replacement, or `None` to leave it. Returns `None` when the
/// body is not a redirect or nothing changed.
pub fn rewrite_redirect(body: &[u8], map: impl Fn(&str) -> Option<String>) -> Option<Vec<u8>> {
    let range = find_redirect(body)?;
    let text = std::str::from_utf8(&body[range.clone()]).ok()?;
    let url = text.trim().replace("&amp;", "&");
    let new_url = map(&url)?;
    if new_url == url {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() + new_url.len());
    out.extend_from_slice(&body[..range.start]);
    out.extend_from_slice(xml_escape(&new_url).as_bytes());
    out.extend_from_slice(&body[range.end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REDIRECT: &str = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="urn:zarafa">"#,
        r#"<SOAP-ENV:Body><ns:getStoreResponse><er>2147483688</er>"#,
        r#"<lpszServerPath>https://10.0.0.2:237/</lpszServerPath></ns:getStoreResponse>"#,
        r#"</SOAP-ENV:Body></SOAP-ENV:Envelope>"#
    );

    #[test]
    fn finds_and_rewrites_redirect() {
        let out = rewrite_redirect(REDIRECT.as_bytes(), |u| {
            assert_eq!(u, "https://10.0.0.2:237/");
            Some("https://edge:8443/z2/".to_string())
        })
        .unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("<lpszServerPath>https://edge:8443/z2/</lpszServerPath>"));
        assert!(s.contains("<er>2147483688</er>"));
    }

    #[test]
    fn ignores_success_and_other_bodies() {
        let ok = REDIRECT.replace("2147483688", "0");
        assert!(find_redirect(ok.as_bytes()).is_none());
        assert!(find_redirect(b"").is_none());
        assert!(find_redirect(b"<<<>>>").is_none());
        assert!(find_redirect(b"<er>2147483688</er>").is_none());
        assert!(rewrite_redirect(REDIRECT.as_bytes(), |_| None).is_none());
    }

    #[test]
    fn accepts_prefixes_attributes_and_whitespace() {
        let body = r#"<ns:er xsi:type="xsd:unsignedInt"> 2147483688 </ns:er><x:lpszServerPath xsi:type="xsd:string">http://a:236/?a=1&amp;b</x:lpszServerPath>"#;
        let out = rewrite_redirect(body.as_bytes(), |u| {
            assert_eq!(u, "http://a:236/?a=1&b");
            Some("https://e/z1/?a&b".into())
        })
        .unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains(">https://e/z1/?a&amp;b</x:"));
    }

    #[test]
    fn content_types() {
        assert!(is_soap_content_type("text/xml; charset=utf-8"));
        assert!(is_soap_content_type("Application/SOAP+XML"));
        assert!(!is_soap_content_type(
            "multipart/related; type=\"application/xop+xml\""
        ));
    }
}
