//! The `ldap` user plugin: users and servers from `kc_directory`, passwords
//! checked by an LDAP bind as the user.

use async_trait::async_trait;
use kc_directory::{DirError, Directory};

use super::{PluginError, ServerInfo, UserInfo, UserPlugin};
use crate::redirect::ServerPaths;
use crate::storage::Quota;

pub struct LdapPlugin {
    dir: Directory,
}

impl LdapPlugin {
    pub fn new(dir: Directory) -> LdapPlugin {
        LdapPlugin { dir }
    }

    pub fn directory(&self) -> &Directory {
        &self.dir
    }
}

fn map_err(e: DirError) -> PluginError {
    match e {
        DirError::NotFound { .. } => PluginError::NotFound,
        DirError::InvalidCredentials => PluginError::InvalidCredentials,
        other => PluginError::Unavailable(other.to_string()),
    }
}

fn user_info(u: kc_directory::User) -> UserInfo {
    UserInfo {
        login: u.login,
        external_id: u.unique_id,
        fullname: u.fullname,
        email: u.email,
        aliases: u.aliases,
        // Without the override attribute the directory says "server
        // defaults", which also clears an override set earlier.
        quota: Some(match u.quota {
            Some(q) => Quota {
                override_default: true,
                warn: i64::try_from(q.warn).unwrap_or(i64::MAX),
                soft: i64::try_from(q.soft).unwrap_or(i64::MAX),
                hard: i64::try_from(q.hard).unwrap_or(i64::MAX),
            },
            None => Quota::default(),
        }),
        admin_level: u32::from(u.is_admin),
        nonactive: u.nonactive,
        home_server: u.home_server.filter(|s| !s.is_empty()),
        enabled_features: u.enabled_features,
        disabled_features: u.disabled_features,
    }
}

/// Convert a directory server entry into the URLs GetBestServerPath chooses from.
pub fn server_info(s: &kc_directory::Server) -> ServerInfo {
    ServerInfo {
        paths: ServerPaths {
            name: s.name.clone(),
            file_path: s.file_url(),
            http_path: s.http_url(),
            ssl_path: s.https_url(),
            proxy_path: s.proxy_url.clone().filter(|p| !p.is_empty()),
        },
        contains_public: s.contains_public,
    }
}

#[async_trait]
impl UserPlugin for LdapPlugin {
    fn name(&self) -> &'static str {
        "ldap"
    }

    async fn authenticate(&self, login: &str, password: &str) -> Result<UserInfo, PluginError> {
        if password.is_empty() {
            // An empty password would be an anonymous bind, which always "succeeds".
            return Err(PluginError::InvalidCredentials);
        }
        match self.dir.authenticate(login, password).await {
            Ok(u) => Ok(user_info(u)),
            Err(DirError::NotFound { .. }) => Err(PluginError::InvalidCredentials),
            Err(e) => Err(map_err(e)),
        }
    }

    async fn user(&self, login: &str) -> Result<UserInfo, PluginError> {
        self.dir.user(login).await.map(user_info).map_err(map_err)
    }

    /// One directory search by `mail` or alias, instead of the trait's scan
    /// of every user.
    async fn user_by_address(&self, address: &str) -> Result<UserInfo, PluginError> {
        self.dir
            .user_by_address(address)
            .await
            .map(user_info)
            .map_err(map_err)
    }

    async fn users(&self) -> Result<Vec<UserInfo>, PluginError> {
        Ok(self
            .dir
            .users()
            .await
            .map_err(map_err)?
            .into_iter()
            .map(user_info)
            .collect())
    }

    async fn server(&self, name: &str) -> Result<ServerInfo, PluginError> {
        self.dir
            .server(name)
            .await
            .map(|s| server_info(&s))
            .map_err(map_err)
    }

    async fn servers(&self) -> Result<Vec<ServerInfo>, PluginError> {
        Ok(self
            .dir
            .servers()
            .await
            .map_err(map_err)?
            .iter()
            .map(server_info)
            .collect())
    }

    async fn public_store_server(&self) -> Result<Option<String>, PluginError> {
        match self.dir.public_store_server().await {
            Ok(s) => Ok(Some(s.name)),
            Err(DirError::NotFound { .. }) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    fn writable(&self) -> bool {
        false
    }
}
