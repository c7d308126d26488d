//! SASL PLAIN (RFC 4616): decoding what a client sent and encoding what a
//! server is sent. kc-gateway uses it for IMAP AUTHENTICATE and POP3 AUTH
//! (RFC 5034); kc-proxy for the same commands before login and to replay
//! the login at the node.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use thiserror::Error;

/// Longest authorization id, authentication id or password accepted
/// (RFC 4616 §2: 255 octets each).
pub const MAX_FIELD: usize = 255;

/// Longest base64 PLAIN message accepted: three fields of [`MAX_FIELD`]
/// and two separators, encoded.
pub const MAX_BASE64: usize = (3 * MAX_FIELD + 2).div_ceil(3) * 4;

/// Credentials from a PLAIN message `[authzid] NUL authcid NUL passwd`.
/// `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// Identity to act as; `None` when empty (act as `authcid`).
    pub authzid: Option<String>,
    /// The user who authenticates.
    pub authcid: String,
    /// The password bytes (charset left to the caller).
    pub password: Vec<u8>,
}

impl PlainCredentials {
    /// Whether the client asks to act as a user other than the one who
    /// authenticates (proxy authorisation). Nothing in kc offers that, so
    /// every caller refuses it; names compare case-insensitively.
    pub fn authorizes_other_user(&self) -> bool {
        self.authzid
            .as_deref()
            .is_some_and(|z| !z.eq_ignore_ascii_case(&self.authcid))
    }
}

impl std::fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// Why a PLAIN message was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The response is not base64 (or longer than [`MAX_BASE64`]).
    #[error("invalid base64")]
    Base64,
    /// Not exactly three NUL-separated fields.
    #[error("malformed PLAIN message")]
    Malformed,
    /// Empty authentication id.
    #[error("empty authentication identity")]
    EmptyUser,
    /// A field exceeds [`MAX_FIELD`].
    #[error("field too long")]
    TooLong,
    /// An identity is not UTF-8.
    #[error("identity is not UTF-8")]
    NotUtf8,
}

/// Decodes the (already base64-decoded) PLAIN message.
pub fn decode_plain(msg: &[u8]) -> Result<PlainCredentials, SaslError> {
    let mut fields = msg.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(SaslError::Malformed);
    };
    if [authzid, authcid, password]
        .iter()
        .any(|f| f.len() > MAX_FIELD)
    {
        return Err(SaslError::TooLong);
    }
    if authcid.is_empty() {
        return Err(SaslError::EmptyUser);
    }
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| SaslError::NotUtf8);
    Ok(PlainCredentials {
        authzid: if authzid.is_empty() {
            None
        } else {
            Some(text(authzid)?)
        },
        authcid: text(authcid)?,
        password: password.to_vec(),
    })
}

/// Decodes a base64 PLAIN response as sent on the wire (bounded by
/// [`MAX_BASE64`] before anything is decoded). An empty response (`=` in
/// SASL-IR) is malformed: PLAIN always carries credentials.
pub fn decode_plain_base64(b64: &[u8]) -> Result<PlainCredentials, SaslError> {
    if b64.len() > MAX_BASE64 {
        return Err(SaslError::Base64);
    }
    let raw = STANDARD.decode(b64).map_err(|_| SaslError::Base64)?;
    decode_plain(&raw)
}

/// The base64 PLAIN response that logs `user` in with `password` (empty
/// authorization identity).
pub fn encode_plain(user: &str, password: &[u8]) -> String {
    let mut raw = Vec::with_capacity(user.len() + password.len() + 2);
    raw.push(0);
    raw.extend_from_slice(user.as_bytes());
    raw.push(0);
    raw.extend_from_slice(password);
    STANDARD.encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain() {
        let c = decode_plain(b"\0fred\0secret").unwrap();
        assert_eq!(
            (c.authzid, c.authcid.as_str(), c.password.as_slice()),
            (None, "fred", &b"secret"[..])
        );
        let c = decode_plain(b"admin\0fred\0pw").unwrap();
        assert_eq!(c.authzid.as_deref(), Some("admin"));
        assert_eq!(decode_plain(b"fred\0secret"), Err(SaslError::Malformed));
        assert_eq!(decode_plain(b"\0\0pw"), Err(SaslError::EmptyUser));
        assert_eq!(decode_plain(b"a\0b\0c\0d"), Err(SaslError::Malformed));
        assert_eq!(
            decode_plain(&[b"\0".as_slice(), &[b'u'; 256], b"\0p"].concat()),
            Err(SaslError::TooLong)
        );
        assert_eq!(decode_plain(b"\0\xff\0p"), Err(SaslError::NotUtf8));
    }

    #[test]
    fn base64_round_trip_and_authorization_identity() {
        let enc = encode_plain("alice", b"p w\xc3\xa4");
        let c = decode_plain_base64(enc.as_bytes()).unwrap();
        assert_eq!(
            (c.authcid.as_str(), c.password.as_slice()),
            ("alice", &b"p w\xc3\xa4"[..])
        );
        assert!(!c.authorizes_other_user());
        let same = STANDARD.encode(b"alice\0alice\0pw");
        assert!(!decode_plain_base64(same.as_bytes())
            .unwrap()
            .authorizes_other_user());
        let other = STANDARD.encode(b"bob\0alice\0pw");
        assert!(decode_plain_base64(other.as_bytes())
            .unwrap()
            .authorizes_other_user());
        assert_eq!(decode_plain_base64(b"!!"), Err(SaslError::Base64));
        assert_eq!(
            decode_plain_base64(&[b'A'; MAX_BASE64 + 4]),
            Err(SaslError::Base64)
        );
        for bad in [&b"\0\0pw"[..], b"alice\0pw", b"a\0b\0c\0d", b""] {
            let enc = STANDARD.encode(bad);
            assert!(decode_plain_base64(enc.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(!format!("{c:?}").contains("p w"));
    }
}
