//! The bodies of answers that are not a success: errors and redirects.

use serde::{Deserialize, Serialize};

/// What went wrong, as KC names it; `name` is empty and `code` 0 for plain
/// HTTP conditions (405, 412, an unknown route).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    /// The KC error code (`KCERR_*` value), or 0.
    pub code: u32,
    /// A human-readable reason.
    pub message: String,
    /// `KCERR_` and the code's name, or empty.
    pub name: String,
}

/// The body of every error answer (4xx, 5xx).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    /// The answering node's `server_name`.
    pub node: String,
}

/// The body of a 307 to the store's home node (the target is also in `Location`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RedirectBody {
    /// The same URL as the `Location` header.
    pub location: String,
    /// The answering node's `server_name`.
    pub node: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::same_bytes;
    use serde_json::json;

    #[test]
    fn bodies() {
        same_bytes(
            &ErrorBody {
                error: ErrorDetail {
                    code: 2_147_483_650,
                    message: "no folder 7".into(),
                    name: "KCERR_NOT_FOUND".into(),
                },
                node: "n1".into(),
            },
            json!({"node": "n1",
                   "error": {"name": "KCERR_NOT_FOUND", "code": 2_147_483_650_u32, "message": "no folder 7"}}),
        );
        same_bytes(
            &RedirectBody {
                location: "https://n2:237/kc-store/v1/me/user".into(),
                node: "n1".into(),
            },
            json!({"node": "n1", "location": "https://n2:237/kc-store/v1/me/user"}),
        );
        let e: ErrorBody = serde_json::from_str(r#"{"error":{"message":"boom"}}"#).unwrap();
        assert_eq!((e.error.message.as_str(), e.error.code), ("boom", 0));
    }
}
