//! A user's home store: the one place that looks a user up, decides whether
//! the mailbox lives on this node, opens (creating on first use) the private
//! store here or answers KC's redirect to the node that holds it, and admits
//! writes into it against quota. SOAP (`soap/`), the store API (`api/`) and
//! LMTP delivery (`lmtp_store.rs`) all come here.
//!
//! The hard-quota rule itself lives with the writes (`storage::quota`): it
//! is applied inside each write's transaction with the size after the write.
//! This module hands the storage the server.cfg defaults ([`write_quota`])
//! and offers the same rule as an early answer ([`may_store`]) for callers
//! that can refuse before reading a body (an LMTP RCPT, an API append).

use std::sync::atomic::Ordering;

use tracing::{info, warn};

use crate::kcerr::KcErr;
use crate::node::{ConnInfo, Node};
use crate::redirect::best_server_path;
use crate::storage::{
    quota, Object, ObjectData, ObjectKind, Quota, StorageError, Store, StoreType,
};
use crate::users::{PluginError, UserInfo};

/// A private store on this node with its owner.
#[derive(Debug, Clone)]
pub struct HomeStore {
    pub store: Store,
    pub info: UserInfo,
    pub object: Object,
}

/// The answer of [`open`].
#[derive(Debug)]
pub enum Opened {
    /// The store is on this node.
    Here(Box<HomeStore>),
    /// The store is on another node: its best URL for this connection
    /// (GetBestServerPath), already logged and counted.
    Redirect(String),
}

/// KC's error for a user plugin failure (the one mapping, used by every
/// protocol). An unavailable plugin is logged.
pub fn plugin_err(e: PluginError) -> KcErr {
    match e {
        PluginError::NotFound => KcErr::NOT_FOUND,
        PluginError::InvalidCredentials => KcErr::LOGON_FAILED,
        PluginError::NotSupported(_) => KcErr::NO_SUPPORT,
        PluginError::Unavailable(m) => {
            warn!(error = %m, "user plugin unavailable");
            KcErr::PLUGIN_ERROR
        }
    }
}

/// The user `login` from the user plugin, mirrored into the local objects.
pub async fn user(node: &Node, login: &str) -> Result<(UserInfo, Object), KcErr> {
    let info = node.plugin.user(login).await.map_err(plugin_err)?;
    let object = ensure_local(node, &info).await?;
    Ok((info, object))
}

/// Whether the user's mailbox lives on this node (always, single-server;
/// internal objects without plugin information never redirect).
pub fn is_home(node: &Node, info: Option<&UserInfo>) -> Result<bool, KcErr> {
    if !node.settings.distributed {
        return Ok(true);
    }
    let Some(info) = info else {
        return Ok(true);
    };
    match info.home_server.as_deref() {
        None => Err(KcErr::NOT_FOUND),
        Some(h) => Ok(h.eq_ignore_ascii_case(&node.settings.server_name)),
    }
}

/// The addressed user's private store on this node, or the redirect to the
/// node that holds it.
pub async fn open(node: &Node, conn: &ConnInfo, login: &str) -> Result<Opened, KcErr> {
    let (info, object) = user(node, login).await?;
    if !is_home(node, Some(&info))? {
        let server = info.home_server.clone().unwrap_or_default();
        return Ok(Opened::Redirect(redirect(node, conn, &server).await?));
    }
    let store = private_store(node, &object).await?;
    Ok(Opened::Here(Box::new(HomeStore {
        store,
        info,
        object,
    })))
}

/// The best URL of node `name` for this connection (GetBestServerPath),
/// with KC's warning when a proxied request finds no proxy URL.
pub async fn server_path(node: &Node, conn: &ConnInfo, name: &str) -> Result<String, KcErr> {
    let info = node.plugin.server(name).await.map_err(plugin_err)?;
    let best = best_server_path(
        &info.paths,
        conn.kind,
        node.proxied(conn),
        &node.settings.server_name,
    );
    if best.proxy_path_missing {
        warn!(server = name, "Proxy path not set for server {name}");
    }
    best.path
}

/// A redirect to node `name`: its [`server_path`], logged as KC logs it and
/// counted in the node's statistics.
pub async fn redirect(node: &Node, conn: &ConnInfo, name: &str) -> Result<String, KcErr> {
    let path = server_path(node, conn, name).await?;
    info!("Redirecting request to {path}");
    node.stats.redirects.fetch_add(1, Ordering::Relaxed);
    Ok(path)
}

/// The user's private store on this node, created on first use.
pub async fn private_store(node: &Node, user: &Object) -> Result<Store, KcErr> {
    let id = user.id;
    let name = user.login.clone();
    node.db(move |s| match s.store_of(id, StoreType::Private)? {
        Some(st) => Ok(st),
        None => match s.create_store(StoreType::Private, Some(id), &name) {
            // A concurrent logon created it first.
            Err(StorageError::Collision) => s
                .store_of(id, StoreType::Private)?
                .ok_or(StorageError::NotFound),
            other => other,
        },
    })
    .await
}

/// The quota defaults every content-storing write hands to the storage,
/// which applies the hard-level rule inside the write's transaction.
pub fn write_quota(node: &Node) -> Quota {
    node.settings.default_quota
}

/// Whether `store` could still take `added` more bytes under the hard-quota
/// rule, read now: an early refusal for callers that have not read the
/// content yet (a delivery's RCPT, an append before its body). The write
/// itself decides again inside its transaction.
pub async fn may_store(node: &Node, store: i64, added: i64) -> Result<bool, KcErr> {
    let defaults = write_quota(node);
    let st = node.db(move |s| s.quota_status(store, &defaults)).await?;
    let limits = Quota {
        override_default: true,
        warn: st.warn,
        soft: st.soft,
        hard: st.hard,
    };
    Ok(quota::admits(st.size.saturating_add(added), &limits))
}

/// Mirror a plugin user into the objects table (KC's just-in-time sync):
/// created on first sight, attributes and quota kept up to date.
pub async fn ensure_local(node: &Node, info: &UserInfo) -> Result<Object, KcErr> {
    let source = node.plugin.name();
    let info = info.clone();
    node.db(move |s| {
        let data = |hidden| ObjectData {
            login: info.login.clone(),
            fullname: info.fullname.clone(),
            email: info.email.clone(),
            admin_level: info.admin_level,
            nonactive: info.nonactive,
            hidden,
        };
        if let Some(o) = s.object_by_external(source, &info.external_id)? {
            let current = ObjectData {
                login: o.login.clone(),
                fullname: o.fullname.clone(),
                email: o.email.clone(),
                admin_level: o.admin_level,
                nonactive: o.nonactive,
                hidden: o.hidden,
            };
            let mut changed = false;
            if data(o.hidden) != current && source != "db" {
                s.update_object(o.id, &data(o.hidden))?;
                changed = true;
            }
            if let Some(q) = &info.quota {
                if o.quota != *q {
                    s.set_quota(o.id, q)?;
                    changed = true;
                }
            }
            if changed {
                return s.object(o.id)?.ok_or(StorageError::NotFound);
            }
            return Ok(o);
        }
        match s.create_object(ObjectKind::User, source, &info.external_id, &data(false)) {
            Ok(id) => {
                if let Some(q) = &info.quota {
                    s.set_quota(id, q)?;
                }
                s.object(id)?.ok_or(StorageError::NotFound)
            }
            // A concurrent first logon of the same user created it.
            Err(StorageError::Collision) => s
                .object_by_external(source, &info.external_id)?
                .ok_or(StorageError::Collision),
            Err(e) => Err(e),
        }
    })
    .await
}

#[cfg(test)]
mod tests;
