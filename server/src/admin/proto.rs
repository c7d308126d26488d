//! The kc admin API: JSON bodies POSTed to `/kc-admin/v1/<op>` on any listener.
//! Shared by the node (server side) and `kc-admin` (client side).
//!
//! Every request carries a session id obtained by a normal SOAP `logon`; the
//! session's user must be an administrator (SYSTEM, or admin level ≥ 1).

use serde::{Deserialize, Serialize};

use crate::storage::Quota;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub session: u64,
    #[serde(flatten)]
    pub body: T,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Empty {}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Name {
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Membership {
    pub group: String,
    pub user: String,
}

/// `create-user` and `update-user`; absent fields stay unchanged on update.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserChange {
    pub login: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fullname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonactive: Option<bool>,
    /// Quota values in bytes; each level given replaces the stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_override: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_warn: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_soft: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_hard: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enable_features: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disable_features: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    pub login: String,
    pub fullname: String,
    pub email: String,
    pub admin: u32,
    pub nonactive: bool,
    pub hidden: bool,
    pub home_server: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserDetails {
    pub user: UserRow,
    pub quota: Quota,
    /// server.cfg defaults used when `quota.override_default` is false.
    pub default_quota: Quota,
    pub store_size: Option<i64>,
    pub has_store: bool,
    pub last_logon: Option<i64>,
    pub last_logoff: Option<i64>,
    pub groups: Vec<String>,
    pub enabled_features: Vec<String>,
    pub disabled_features: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupDetails {
    pub name: String,
    pub fullname: String,
    pub email: String,
    pub hidden: bool,
    pub members: Vec<UserRow>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OrphanStore {
    pub guid: String,
    pub owner_name: String,
    pub modified: i64,
    pub size: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Orphans {
    pub stores: Vec<OrphanStore>,
    pub users_without_store: Vec<String>,
}

/// `purge-softdelete`: remove items and folders soft-deleted more than
/// `days` days ago (0 = all of them), as KC's `--purge-softdelete`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PurgeSoftdelete {
    pub days: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Purged {
    /// Items removed for good.
    pub items: usize,
}

/// Every answer: `ok` with data, or the KC error that occurred on `node`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reply<T> {
    pub node: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReplyError {
    /// KC name, e.g. `KCERR_NOT_FOUND`.
    pub name: String,
    pub code: u32,
    pub message: String,
}
