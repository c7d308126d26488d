//! SASL PLAIN (RFC 4616) message decoding, shared by IMAP AUTHENTICATE and
//! POP3 AUTH (RFC 5034).

use thiserror::Error;

/// Longest authorization id, authentication id or password accepted
/// (RFC 4616 §2: 255 octets each).
pub const MAX_FIELD: usize = 255;

/// Credentials from a PLAIN message `[authzid] NUL authcid NUL passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// Identity to act as; `None` when empty (act as `authcid`).
    pub authzid: Option<String>,
    /// The user who authenticates.
    pub authcid: String,
    /// The password bytes (charset left to the caller).
    pub password: Vec<u8>,
}

/// Why a PLAIN message was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SaslError {
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
}
