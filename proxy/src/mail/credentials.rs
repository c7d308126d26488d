//! A user name and password taken from a client, and the checks the edge
//! applies to them whichever command carried them (IMAP LOGIN and
//! AUTHENTICATE, POP3 USER/PASS and AUTH).

use kc_mail_proto::sasl::{self, SaslError};

/// Longest accepted login name.
pub const MAX_USER: usize = 256;
/// Longest accepted password.
pub const MAX_PASSWORD: usize = 1024;

/// A user name and password taken from a client. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Login name as the client sent it.
    pub user: String,
    /// Password bytes.
    pub password: Vec<u8>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .finish()
    }
}

impl Credentials {
    /// Credentials from raw bytes, when both pass [`valid_user`] and
    /// [`valid_password`].
    pub fn checked(user: &[u8], password: &[u8]) -> Option<Credentials> {
        let user = valid_user(user)?;
        valid_password(password).then(|| Credentials {
            user,
            password: password.to_vec(),
        })
    }

    /// The base64 SASL PLAIN response that replays this login at a node.
    pub fn plain_response(&self) -> String {
        sasl::encode_plain(&self.user, &self.password)
    }
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

/// Why a SASL PLAIN response gives no credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlainRefusal {
    /// Authorisation as another user (proxy authorisation is not offered).
    #[error("authorization identity differs from the login")]
    OtherUser,
    /// Not a usable PLAIN message.
    #[error("{0}")]
    Invalid(SaslError),
    /// A PLAIN message whose user name the edge does not accept.
    #[error("invalid user name")]
    BadUser,
}

/// The credentials in a decoded SASL PLAIN response (IMAP AUTHENTICATE,
/// POP3 AUTH), with the edge's checks.
pub fn from_plain(decoded: &[u8]) -> Result<Credentials, PlainRefusal> {
    let plain = sasl::decode_plain(decoded).map_err(PlainRefusal::Invalid)?;
    if plain.authorizes_other_user() {
        return Err(PlainRefusal::OtherUser);
    }
    Credentials::checked(plain.authcid.as_bytes(), &plain.password).ok_or(PlainRefusal::BadUser)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    #[test]
    fn plain_round_trip() {
        let c = Credentials {
            user: "alice".into(),
            password: b"p w\xc3\xa4".to_vec(),
        };
        let enc = c.plain_response();
        let decoded = STANDARD.decode(enc.as_bytes()).unwrap();
        assert_eq!(from_plain(&decoded), Ok(c.clone()));
        assert_eq!(
            from_plain(b"alice\0alice\0pw").map(|c| c.user),
            Ok("alice".into())
        );
        assert_eq!(from_plain(b"bob\0alice\0pw"), Err(PlainRefusal::OtherUser));
        for bad in [&b"\0\0pw"[..], b"alice\0pw", b"a\0b\0c\0d", b""] {
            assert!(
                matches!(from_plain(bad), Err(PlainRefusal::Invalid(_))),
                "{bad:?}"
            );
        }
        assert_eq!(from_plain(b"\0 alice\0pw"), Err(PlainRefusal::BadUser));
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
        assert!(Credentials::checked(b"bob", b"pw").is_some());
        assert!(Credentials::checked(b"bob", b"p\0w").is_none());
        assert!(!format!("{:?}", Credentials::checked(b"bob", b"secret")).contains("secret"));
    }
}
