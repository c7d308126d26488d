//! SOAP store calls: `getStore`, `getPublicStore`, `resolveUserStore`,
//! `resolvePseudoUrl` and `getServerDetails`, with KC's multi-server
//! redirects (`home.rs`, `redirect.rs`).

use super::logon::{is_everyone, resolve_user};
use super::writer::Response;
use crate::caps::{self, server_details as sd, store_type};
use crate::entryid;
use crate::home;
use crate::kcerr::KcErr;
use crate::node::{ConnInfo, Node};
use crate::redirect::best_server_path;
use crate::session::Session;
use crate::storage::{Object, Store, StoreType, SYSTEM_ID};

/// This node's `pseudo://` URL, as store entry ids carry it.
pub(super) fn pseudo_url(node: &Node) -> String {
    format!("pseudo://{}", node.settings.server_name)
}

// ---- store calls ---------------------------------------------------------

/// A `getStore`-shaped answer (also `getPublicStore`'s).
pub(super) fn store_response(
    node: &Node,
    er: KcErr,
    store: Option<&Store>,
    path: Option<&str>,
) -> String {
    let mut r = Response::new("getStore");
    r.u32("er", er.wire());
    match store {
        Some(st) => {
            r.b64("sStoreId", &entryid::store_eid(&st.guid, &pseudo_url(node)))
                .b64("sRootId", &entryid::folder_eid(&st.guid, st.root_folder))
                .b64("guid", &st.guid);
        }
        None => {
            r.b64("sStoreId", &[]).b64("sRootId", &[]).b64("guid", &[]);
        }
    }
    r.str("lpszServerPath", path);
    r.finish()
}

/// `getStore`: by entry id, else the session user's private store here or
/// the redirect to its home node.
pub(super) async fn get_store(
    node: &Node,
    conn: &ConnInfo,
    session: &Session,
    eid: Option<Vec<u8>>,
) -> String {
    let result: Result<Store, (KcErr, Option<String>)> = async {
        if let Some(eid) = eid {
            let guid = entryid::parse_store_eid(&eid).ok_or((KcErr::INVALID_ENTRYID, None))?;
            return node
                .db(move |s| s.store_by_guid(&guid))
                .await
                .map_err(|e| (e, None))?
                .ok_or((KcErr::NOT_FOUND, None));
        }
        if session.user_id == SYSTEM_ID {
            return Err((KcErr::NOT_FOUND, None));
        }
        let user = resolve_user(node, &session.login)
            .await
            .map_err(|e| (e, None))?;
        if !home::is_home(node, user.info.as_ref()).map_err(|e| (e, None))? {
            let home = user
                .info
                .as_ref()
                .and_then(|i| i.home_server.clone())
                .unwrap_or_default();
            return match home::redirect(node, conn, &home).await {
                Ok(path) => Err((KcErr::UNABLE_TO_COMPLETE, Some(path))),
                Err(e) => Err((e, None)),
            };
        }
        home::private_store(node, &user.object)
            .await
            .map_err(|e| (e, None))
    }
    .await;
    match result {
        Ok(st) => store_response(node, KcErr::NONE, Some(&st), Some(&pseudo_url(node))),
        Err((e, path)) => store_response(node, e, None, path.as_deref()),
    }
}

/// `getPublicStore`: redirected to the node holding it unless overridden.
pub(super) async fn get_public_store(node: &Node, conn: &ConnInfo, flags: u32) -> String {
    if node.settings.distributed {
        let server = match node.plugin.public_store_server().await {
            Ok(Some(s)) => s,
            Ok(None) => return store_response(node, KcErr::NOT_FOUND, None, None),
            Err(e) => return store_response(node, home::plugin_err(e), None, None),
        };
        if !server.eq_ignore_ascii_case(&node.settings.server_name)
            && flags & caps::EC_OVERRIDE_HOMESERVER == 0
        {
            return match home::redirect(node, conn, &server).await {
                Ok(path) => store_response(node, KcErr::UNABLE_TO_COMPLETE, None, Some(&path)),
                Err(e) => store_response(node, e, None, None),
            };
        }
    }
    match node.db(|s| s.public_store()).await {
        Ok(Some(st)) => store_response(node, KcErr::NONE, Some(&st), Some(&pseudo_url(node))),
        Ok(None) => store_response(node, KcErr::NOT_FOUND, None, None),
        Err(e) => store_response(node, e, None, None),
    }
}

/// `resolveUserStore`: a user's private (or public) store, with the home-node
/// redirect unless `OPENSTORE_OVERRIDE_HOME_MDB`.
pub(super) async fn resolve_user_store(
    node: &Node,
    conn: &ConnInfo,
    session: &Session,
    username: Option<String>,
    mask: u32,
    flags: u32,
) -> String {
    let reply = |er: KcErr, user: Option<&Object>, store: Option<&Store>, path: Option<&str>| {
        let mut r = Response::new("resolveUserStore");
        match user {
            Some(u) => r.u32("ulUserId", u.id as u32).b64(
                "sUserId",
                &entryid::ab_eid(entryid::MAPI_MAILUSER, u.id as u32, &u.external_id),
            ),
            None => r.u32("ulUserId", 0).b64("sUserId", &[]),
        };
        match store {
            Some(st) => r
                .b64("sStoreId", &entryid::store_eid(&st.guid, &pseudo_url(node)))
                .b64("guid", &st.guid),
            None => r.b64("sStoreId", &[]).b64("guid", &[]),
        };
        r.u32("er", er.wire()).str("lpszServerPath", path);
        r.finish()
    };
    let mask = if mask == 0 {
        store_type::bit(store_type::PRIVATE) | store_type::bit(store_type::PUBLIC)
    } else {
        mask
    };
    let login = username
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| session.login.clone());
    let user = match resolve_user(node, &login).await {
        Ok(u) => u,
        Err(e) => return reply(e, None, None, None),
    };
    let wants_private =
        mask & (store_type::bit(store_type::PRIVATE) | store_type::bit(store_type::PUBLIC)) != 0;
    if !wants_private {
        // Archive stores are not kept by kc; never a redirect.
        return reply(KcErr::NOT_FOUND, None, None, None);
    }
    if user.object.id == SYSTEM_ID || is_everyone(&login) {
        return reply(KcErr::NOT_FOUND, None, None, None);
    }
    let home = match home::is_home(node, user.info.as_ref()) {
        Ok(h) => h,
        Err(e) => return reply(e, None, None, None),
    };
    if !home && flags & caps::OPENSTORE_OVERRIDE_HOME_MDB == 0 {
        let name = user
            .info
            .as_ref()
            .and_then(|i| i.home_server.clone())
            .unwrap_or_default();
        return match home::redirect(node, conn, &name).await {
            Ok(path) => reply(KcErr::UNABLE_TO_COMPLETE, None, None, Some(&path)),
            Err(e) => reply(e, None, None, None),
        };
    }
    let store = if home {
        home::private_store(node, &user.object).await
    } else {
        let id = user.object.id;
        node.db(move |s| s.store_of(id, StoreType::Private))
            .await
            .and_then(|o| o.ok_or(KcErr::NOT_FOUND))
    };
    match store {
        Ok(st) => reply(
            KcErr::NONE,
            Some(&user.object),
            Some(&st),
            Some(&pseudo_url(node)),
        ),
        Err(e) => reply(e, None, None, None),
    }
}

/// `resolvePseudoUrl`: the best URL of the node a `pseudo://` URL names.
pub(super) async fn resolve_pseudo_url(
    node: &Node,
    conn: &ConnInfo,
    url: Option<String>,
) -> String {
    let reply = |er: KcErr, path: Option<&str>, peer: bool| {
        let mut r = Response::new("resolvePseudoUrl");
        r.str("lpszServerPath", path)
            .bool("bIsPeer", peer)
            .u32("er", er.wire());
        r.finish()
    };
    let url = url.unwrap_or_default();
    let Some(name) = url.strip_prefix("pseudo://") else {
        return reply(KcErr::INVALID_PARAMETER, None, false);
    };
    if !node.settings.distributed {
        return reply(KcErr::NONE, Some(&url), true);
    }
    let peer = name.eq_ignore_ascii_case(&node.settings.server_name);
    match home::server_path(node, conn, name).await {
        Ok(path) => reply(KcErr::NONE, Some(&path), peer),
        Err(e) => reply(e, None, false),
    }
}

/// `getServerDetails`: the paths of the named (or all) nodes.
pub(super) async fn get_server_details(
    node: &Node,
    conn: &ConnInfo,
    names: Vec<String>,
    flags: u32,
) -> String {
    let reply_err = |er: KcErr| {
        let mut r = Response::new("getServerDetails");
        r.open_array("sServerList", "ns:server", 0).close();
        r.u32("er", er.wire());
        r.finish()
    };
    if !node.settings.distributed {
        return reply_err(KcErr::NETWORK_ERROR);
    }
    if flags & !sd::ALL != 0 {
        return reply_err(KcErr::UNKNOWN_FLAGS);
    }
    let flags = if flags == 0 {
        sd::ALL & !sd::NO_NAME
    } else {
        flags
    };
    let servers = if names.is_empty() {
        match node.plugin.servers().await {
            Ok(s) => s,
            Err(e) => return reply_err(home::plugin_err(e)),
        }
    } else {
        let mut v = Vec::with_capacity(names.len());
        for n in names.iter().take(1000) {
            match node.plugin.server(n).await {
                Ok(s) => v.push(s),
                Err(e) => return reply_err(home::plugin_err(e)),
            }
        }
        v
    };
    let mut r = Response::new("getServerDetails");
    r.open_array("sServerList", "ns:server", servers.len());
    for s in &servers {
        let p = &s.paths;
        r.open("item");
        if flags & sd::NO_NAME == 0 {
            r.str("lpszName", Some(&p.name));
        }
        if flags & sd::FILEPATH != 0 {
            r.str("lpszFilePath", p.file_path.as_deref());
        }
        if flags & sd::HTTPPATH != 0 {
            r.str("lpszHttpPath", p.http_path.as_deref());
        }
        if flags & sd::SSLPATH != 0 {
            r.str("lpszSslPath", p.ssl_path.as_deref());
        }
        if flags & sd::PREFEREDPATH != 0 {
            let best =
                best_server_path(p, conn.kind, node.proxied(conn), &node.settings.server_name);
            r.str("lpszPreferedPath", best.path.ok().as_deref());
        }
        let mut f = 0;
        if p.name.eq_ignore_ascii_case(&node.settings.server_name) {
            f |= sd::IS_PEER;
        }
        if s.contains_public {
            f |= sd::HAS_PUBLIC;
        }
        r.u32("ulFlags", f);
        r.close();
    }
    r.close();
    r.u32("er", 0);
    r.finish()
}
