//! The store owner: identity and features (`GET user`) and quota state (`GET quota`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The store owner (`GET user`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserInfo {
    /// Whether the user is an administrator.
    pub admin: bool,
    /// Other addresses.
    pub aliases: Vec<String>,
    /// Primary e-mail address.
    pub email: String,
    /// Feature name (`imap`, `pop3`, ...) to enabled, lower case.
    pub features: BTreeMap<String, bool>,
    /// Full name.
    pub fullname: String,
    /// Login name.
    pub login: String,
}

impl UserInfo {
    /// Whether `feature` is enabled; a feature the node does not list counts as enabled
    /// (KC's default for `imap` and `pop3` without `disabled_features`).
    pub fn feature(&self, feature: &str) -> bool {
        self.features.get(feature).copied().unwrap_or(true)
    }
}

/// The highest enabled quota limit a store has reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaLevel {
    #[default]
    Ok,
    Warn,
    Soft,
    Hard,
}

/// Quota state of the store (`GET quota`), bytes; a limit of 0 is disabled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotaInfo {
    /// Hard limit: appends and deliveries are refused.
    pub hard: i64,
    /// The highest limit reached.
    pub level: QuotaLevel,
    /// Bytes stored, soft-deleted items included until purged.
    pub size: i64,
    /// Soft limit.
    pub soft: i64,
    /// Warning limit.
    pub warn: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::same_bytes;
    use serde_json::json;

    #[test]
    fn user_round_trip() {
        let u = UserInfo {
            admin: false,
            aliases: vec!["j@x".into()],
            email: "john@example.org".into(),
            features: [("imap".to_string(), true), ("pop3".to_string(), false)]
                .into_iter()
                .collect(),
            fullname: "John Doe".into(),
            login: "john".into(),
        };
        same_bytes(
            &u,
            json!({"login": "john", "fullname": "John Doe", "email": "john@example.org",
                   "aliases": ["j@x"], "features": {"pop3": false, "imap": true},
                   "admin": false}),
        );
        assert!(u.feature("imap") && !u.feature("pop3") && u.feature("mobile"));
    }

    #[test]
    fn quota_round_trip() {
        let q = QuotaInfo {
            hard: 300,
            level: QuotaLevel::Soft,
            size: 250,
            soft: 200,
            warn: 100,
        };
        same_bytes(
            &q,
            json!({"size": 250, "warn": 100, "soft": 200, "hard": 300, "level": "soft"}),
        );
        for (l, s) in [
            (QuotaLevel::Ok, "ok"),
            (QuotaLevel::Warn, "warn"),
            (QuotaLevel::Hard, "hard"),
        ] {
            assert_eq!(serde_json::to_value(l).unwrap(), json!(s));
        }
    }
}
