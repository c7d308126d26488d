//! Errors of the store client, mapped from transport failures, SOAP `er`
//! codes and store API status codes.

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
        match status {
            401 => ClientError::Session,
            403 => ClientError::Forbidden,
            404 => ClientError::NotFound,
            409 => ClientError::Conflict,
            413 => ClientError::TooLarge,
            507 => ClientError::QuotaExceeded,
            _ => ClientError::Status {
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
    #[derive(serde::Deserialize)]
    struct Inner {
        #[serde(default)]
        message: String,
    }
    #[derive(serde::Deserialize)]
    struct Outer {
        error: Inner,
    }
    match serde_json::from_slice::<Outer>(body) {
        Ok(o) => o.error.message,
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
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
    }
}
