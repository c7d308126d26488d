//! SASL PLAIN (RFC 4616) as the edge needs it: decode what a client sent,
//! encode what the node gets. Pure.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::Credentials;

/// Longest accepted login name.
pub const MAX_USER: usize = 256;
/// Longest accepted password.
pub const MAX_PASSWORD: usize = 1024;

/// Why a PLAIN response was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// Not base64.
    #[error("invalid base64")]
    Base64,
    /// Not `authzid NUL authcid NUL password`.
    #[error("malformed PLAIN response")]
    Malformed,
    /// Authorisation as another user (proxy authorisation is not offered).
    #[error("authorization identity differs from the login")]
    Authzid,
}

/// Checks a login name: UTF-8, no controls or spaces at the edges, bounded.
pub fn valid_user(user: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(user).ok()?;
    if s.is_empty() || s.len() > MAX_USER || s.chars().any(char::is_control) || s.trim() != s {
        return None;
    }
    Some(s.to_string())
}

/// Checks a password: bounded, no NUL (it could not travel in PLAIN).
pub fn valid_password(pass: &[u8]) -> bool {
    pass.len() <= MAX_PASSWORD && !pass.contains(&0)
}

/// Decodes a base64 PLAIN response. An empty response (`=` in SASL-IR) is
/// malformed here: PLAIN always carries credentials.
pub fn decode_plain(b64: &[u8]) -> Result<Credentials, SaslError> {
    if b64.len() > 4 * (MAX_USER * 2 + MAX_PASSWORD + 2) / 3 + 4 {
        return Err(SaslError::Malformed);
    }
    let raw = STANDARD.decode(b64).map_err(|_| SaslError::Base64)?;
    let mut parts = raw.split(|&b| b == 0);
    let (Some(authz), Some(authc), Some(pass), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed);
    };
    let user = valid_user(authc).ok_or(SaslError::Malformed)?;
    if !valid_password(pass) {
        return Err(SaslError::Malformed);
    }
    if !authz.is_empty() && authz != authc {
        return Err(SaslError::Authzid);
    }
    Ok(Credentials {
        user,
        password: pass.to_vec(),
    })
}

/// The base64 PLAIN response for `creds` (empty authorisation identity).
pub fn encode_plain(creds: &Credentials) -> String {
    let mut raw = Vec::with_capacity(creds.user.len() + creds.password.len() + 2);
    raw.push(0);
    raw.extend_from_slice(creds.user.as_bytes());
    raw.push(0);
    raw.extend_from_slice(&creds.password);
    STANDARD.encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_round_trip() {
        let c = Credentials {
            user: "alice".into(),
            password: b"p w\xc3\xa4".to_vec(),
        };
        let enc = encode_plain(&c);
        assert_eq!(decode_plain(enc.as_bytes()), Ok(c.clone()));
        let same = STANDARD.encode(b"alice\0alice\0pw");
        assert_eq!(
            decode_plain(same.as_bytes()).map(|c| c.user),
            Ok("alice".into())
        );
        let other = STANDARD.encode(b"bob\0alice\0pw");
        assert_eq!(decode_plain(other.as_bytes()), Err(SaslError::Authzid));
        assert_eq!(decode_plain(b"!!"), Err(SaslError::Base64));
        for bad in [&b"\0\0pw"[..], b"alice\0pw", b"a\0b\0c\0d", b""] {
            let enc = STANDARD.encode(bad);
            assert_eq!(
                decode_plain(enc.as_bytes()),
                Err(SaslError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn user_and_password_checks() {
        assert_eq!(
            valid_user(b"bob@example.com"),
            Some("bob@example.com".into())
        );
        assert_eq!(valid_user(b" bob"), None);
        assert_eq!(valid_user(b"b\x01b"), None);
        assert_eq!(valid_user(b"\xff"), None);
        assert!(valid_password(b"any thing"));
        assert!(!valid_password(b"a\0b"));
    }
}
