//! The `db` user plugin: users, groups and companies live in the node's own
//! database; passwords are argon2 hashes. It knows no other servers, so it
//! only serves single-server setups (as in KC).

use std::sync::Arc;

use async_trait::async_trait;

use super::{password, PluginError, ServerInfo, UserInfo, UserPlugin};
use crate::storage::{Object, ObjectKind, Storage};

pub struct DbPlugin {
    storage: Arc<dyn Storage>,
}

impl DbPlugin {
    pub fn new(storage: Arc<dyn Storage>) -> DbPlugin {
        DbPlugin { storage }
    }
}

pub(crate) fn info_of(o: &Object) -> UserInfo {
    UserInfo {
        login: o.login.clone(),
        external_id: o.external_id.clone(),
        fullname: o.fullname.clone(),
        email: o.email.clone(),
        aliases: vec![],
        quota: None,
        admin_level: o.admin_level,
        nonactive: o.nonactive,
        home_server: None,
        enabled_features: o.enabled_features.clone(),
        disabled_features: o.disabled_features.clone(),
    }
}

fn unavailable(e: impl std::fmt::Display) -> PluginError {
    PluginError::Unavailable(e.to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PluginError> + Send + 'static,
) -> Result<T, PluginError> {
    tokio::task::spawn_blocking(f).await.map_err(unavailable)?
}

#[async_trait]
impl UserPlugin for DbPlugin {
    fn name(&self) -> &'static str {
        "db"
    }

    async fn authenticate(&self, login: &str, pass: &str) -> Result<UserInfo, PluginError> {
        let storage = self.storage.clone();
        let login = login.to_owned();
        let pass = pass.to_owned();
        blocking(move || {
            let obj = storage
                .object_by_login(ObjectKind::User, &login)
                .map_err(unavailable)?
                .filter(|o| o.source == "db");
            let hash = match &obj {
                Some(o) => storage.password_hash(o.id).map_err(unavailable)?,
                None => None,
            };
            match (obj, hash) {
                (Some(o), Some(h)) if password::verify(&pass, &h) => Ok(info_of(&o)),
                (Some(_), Some(_)) => Err(PluginError::InvalidCredentials),
                _ => {
                    password::verify_dummy(&pass);
                    Err(PluginError::InvalidCredentials)
                }
            }
        })
        .await
    }

    async fn user(&self, login: &str) -> Result<UserInfo, PluginError> {
        let storage = self.storage.clone();
        let login = login.to_owned();
        blocking(move || {
            storage
                .object_by_login(ObjectKind::User, &login)
                .map_err(unavailable)?
                .filter(|o| o.source == "db")
                .map(|o| info_of(&o))
                .ok_or(PluginError::NotFound)
        })
        .await
    }

    async fn users(&self) -> Result<Vec<UserInfo>, PluginError> {
        let storage = self.storage.clone();
        blocking(move || {
            Ok(storage
                .objects(ObjectKind::User)
                .map_err(unavailable)?
                .iter()
                .filter(|o| o.source == "db")
                .map(info_of)
                .collect())
        })
        .await
    }

    async fn server(&self, _name: &str) -> Result<ServerInfo, PluginError> {
        Err(PluginError::NotSupported("db"))
    }

    async fn servers(&self) -> Result<Vec<ServerInfo>, PluginError> {
        Err(PluginError::NotSupported("db"))
    }

    async fn public_store_server(&self) -> Result<Option<String>, PluginError> {
        Ok(None)
    }

    fn writable(&self) -> bool {
        true
    }
}
