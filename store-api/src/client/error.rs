//! Errors of the store client, mapped from transport failures, SOAP `er`
//! codes and store-API statuses (through [`crate::status`], the table the
//! node answers by).

use crate::status::ErrorKind;
use crate::wire::ErrorBody;

/// Why a store call failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The credentials were refused (SOAP `logon` answered `KCERR_LOGON_FAILED` or similar).
    #[error("logon failed")]
    LogonFailed,
    /// The node could not be reached or did not answer in time.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// 404: no such store, folder or item.
    #[error("not found")]
    NotFound,
    /// 409: name collision or folder cycle.
    #[error("conflict")]
    Conflict,
    /// 507: the store is at its hard quota.
    #[error("quota exceeded")]
    QuotaExceeded,
    /// 413, or an answer larger than the client accepts.
    #[error("too large")]
    TooLarge,
    /// 403: access denied.
    #[error("access denied")]
    Forbidden,
    /// 401: the session is unknown or expired.
    #[error("session expired or unknown")]
    Session,
    /// The answer could not be understood.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Any other HTTP status, with the server's message.
    #[error("HTTP {status}: {message}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// `error.message` of the answer, or its raw start.
        message: String,
    },
    /// `server_socket` is not an http(s) URL.
    #[error("invalid server_socket '{0}' (use http://host:port/ or https://host:port/)")]
    BadUrl(String),
    /// An https URL without TLS settings, or a bad server name.
    #[error("TLS: {0}")]
    Tls(String),
}

impl ClientError {
    /// The error for a non-success HTTP status; `body` is the JSON error answer.
    pub fn from_status(status: u16, body: &[u8]) -> ClientError {
        match ErrorKind::from_status(status) {
            Some(ErrorKind::Session) => ClientError::Session,
            Some(ErrorKind::Forbidden) => ClientError::Forbidden,
            Some(ErrorKind::NotFound) => ClientError::NotFound,
            Some(ErrorKind::Conflict) => ClientError::Conflict,
            Some(ErrorKind::TooLarge) => ClientError::TooLarge,
            Some(ErrorKind::QuotaExceeded) => ClientError::QuotaExceeded,
            Some(
                ErrorKind::BadRequest
                | ErrorKind::MethodNotAllowed
                | ErrorKind::PreconditionFailed
                | ErrorKind::Internal,
            )
            | None => ClientError::Status {
                status,
                message: error_message(body),
            },
        }
    }

    /// Whether the failure is temporary (the node is down or overloaded).
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            ClientError::Unavailable(_) | ClientError::Status { status: 500.., .. }
        )
    }
}

/// `error.message` of a store API error body, else the first bytes of it.
fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(o) if !o.error.message.is_empty() => o.error.message,
        _ => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert!(matches!(
            ClientError::from_status(401, b""),
            ClientError::Session
        ));
        assert!(matches!(
            ClientError::from_status(507, b""),
            ClientError::QuotaExceeded
        ));
        match ClientError::from_status(
            500,
            br#"{"node":"n1","error":{"name":"KCERR_X","code":1,"message":"boom"}}"#,
        ) {
            ClientError::Status { status, message } => {
                assert_eq!((status, message.as_str()), (500, "boom"));
            }
            e => panic!("{e:?}"),
        }
        assert!(ClientError::from_status(503, b"x").is_temporary());
        assert!(!ClientError::NotFound.is_temporary());
        // What the node sends for every error class reads back as it.
        for (kind, want) in [
            (ErrorKind::Session, "session expired or unknown"),
            (ErrorKind::Forbidden, "access denied"),
            (ErrorKind::NotFound, "not found"),
            (ErrorKind::Conflict, "conflict"),
            (ErrorKind::TooLarge, "too large"),
            (ErrorKind::QuotaExceeded, "quota exceeded"),
        ] {
            assert_eq!(
                ClientError::from_status(kind.status(), b"").to_string(),
                want
            );
        }
        match ClientError::from_status(412, br#"{"error":{"message":"If-Match does not match"}}"#) {
            ClientError::Status { status, message } => {
                assert_eq!((status, message.as_str()), (412, "If-Match does not match"));
            }
            e => panic!("{e:?}"),
        }
    }
}
