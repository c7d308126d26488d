//! Checking a password against a stored `userPassword` value (LDIF mode).
//!
//! Supported: `{SSHA}` (base64 of SHA-1(password || salt) || salt),
//! `{SHA}` (base64 of SHA-1(password)), `{CLEARTEXT}` and values without a
//! scheme (plain text, as OpenLDAP compares them). Unknown schemes never match.

use base64::Engine;
use ring::digest;
use subtle::ConstantTimeEq;

/// True when `given` matches the stored value. Never true for an empty `given`.
pub fn verify_password(stored: &str, given: &str) -> bool {
    if given.is_empty() {
        return false;
    }
    let (scheme, rest) = match stored.strip_prefix('{').and_then(|r| r.split_once('}')) {
        Some((scheme, rest)) => (scheme.to_ascii_uppercase(), rest),
        None => return ct_eq(stored.as_bytes(), given.as_bytes()),
    };
    match scheme.as_str() {
        "CLEARTEXT" => ct_eq(rest.as_bytes(), given.as_bytes()),
        "SHA" => match b64(rest) {
            Some(d) if d.len() == 20 => ct_eq(&sha1(given.as_bytes(), &[]), &d),
            _ => false,
        },
        "SSHA" => match b64(rest) {
            Some(d) if d.len() > 20 => {
                let (hash, salt) = d.split_at(20);
                ct_eq(&sha1(given.as_bytes(), salt), hash)
            }
            _ => false,
        },
        _ => false,
    }
}

/// Produces an `{SSHA}` value (for test data and tools).
pub fn ssha(password: &str, salt: &[u8]) -> String {
    let mut v = sha1(password.as_bytes(), salt);
    v.extend_from_slice(salt);
    format!(
        "{{SSHA}}{}",
        base64::engine::general_purpose::STANDARD.encode(v)
    )
}

fn sha1(data: &[u8], salt: &[u8]) -> Vec<u8> {
    // SHA-1 only because {SHA}/{SSHA} are defined with it (RFC 2307 style).
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(data);
    ctx.update(salt);
    ctx.finish().as_ref().to_vec()
}

fn b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        // slappasswd -h {SHA} -s secret
        assert!(verify_password(
            "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=",
            "secret"
        ));
        assert!(!verify_password(
            "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=",
            "Secret"
        ));
        let s = ssha("secret", b"salt1234");
        assert!(verify_password(&s, "secret"));
        assert!(verify_password(&s.replace("{SSHA}", "{ssha}"), "secret"));
        assert!(!verify_password(&s, "secre"));
        assert!(verify_password("plain", "plain"));
        assert!(verify_password("{CLEARTEXT}plain", "plain"));
        assert!(!verify_password("plain", ""));
        assert!(!verify_password("", ""));
        assert!(!verify_password("{CRYPT}abc", "abc"));
        assert!(!verify_password("{SSHA}!!", "x"));
    }
}
