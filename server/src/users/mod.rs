//! User plugins (`user_plugin`): where users, groups and server details come from.
//!
//! `db` keeps everything in the node's database; `ldap` reads an LDAP server (or an
//! LDIF file) through `kc_directory`. The node mirrors plugin users into its
//! `objects` table just in time, so stores and ids are local.

pub mod db;
pub mod ldap;
pub mod password;

use async_trait::async_trait;

use crate::redirect::ServerPaths;

/// A user as the plugin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserInfo {
    pub login: String,
    /// The plugin's unique id for the user (db: the login; ldap: the unique attribute).
    pub external_id: String,
    pub fullname: String,
    pub email: String,
    /// Further addresses mail is accepted for (`ldap_emailaliases_attribute`).
    pub aliases: Vec<String>,
    pub admin_level: u32,
    pub nonactive: bool,
    /// The quota the directory manages (LDAP: `ldap_quotaoverride_attribute`
    /// and the level attributes, in bytes); `None` when this node's own
    /// records are authoritative (db plugin, `kc-admin --qo`).
    pub quota: Option<crate::storage::Quota>,
    /// `kopanoUserServer`; `None` in single-server setups.
    pub home_server: Option<String>,
    pub enabled_features: Vec<String>,
    pub disabled_features: Vec<String>,
}

/// A node as the plugin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerInfo {
    pub paths: ServerPaths,
    pub contains_public: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    #[error("not found")]
    NotFound,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("not supported by the {0} plugin")]
    NotSupported(&'static str),
    #[error("user source unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait UserPlugin: Send + Sync {
    /// `db` or `ldap`.
    fn name(&self) -> &'static str;
    /// Check a password; `InvalidCredentials` for unknown users and wrong passwords alike.
    async fn authenticate(&self, login: &str, password: &str) -> Result<UserInfo, PluginError>;
    async fn user(&self, login: &str) -> Result<UserInfo, PluginError>;
    async fn users(&self) -> Result<Vec<UserInfo>, PluginError>;
    /// The user whose email address or alias is `address` (case-insensitive),
    /// for LMTP delivery. The default scans [`users`](UserPlugin::users),
    /// which suits the db plugin's small user table; the LDAP plugin asks
    /// the directory with one search.
    async fn user_by_address(&self, address: &str) -> Result<UserInfo, PluginError> {
        self.users()
            .await?
            .into_iter()
            .find(|u| {
                u.email.eq_ignore_ascii_case(address)
                    || u.aliases.iter().any(|a| a.eq_ignore_ascii_case(address))
            })
            .ok_or(PluginError::NotFound)
    }
    async fn server(&self, name: &str) -> Result<ServerInfo, PluginError>;
    async fn servers(&self) -> Result<Vec<ServerInfo>, PluginError>;
    /// The name of the node holding the public store, when the plugin knows servers.
    async fn public_store_server(&self) -> Result<Option<String>, PluginError>;
    /// Whether users and groups may be created and changed through this node.
    fn writable(&self) -> bool;
}
