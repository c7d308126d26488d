//! The addressed store of a request: opening the user's home store on this
//! node, or the redirect to the node that holds it, and admitting writes
//! against its quota. Every handler goes through here, so the rule lives in
//! one place.

use std::sync::Arc;

use super::reply::{Fail, R};
use super::route::StoreRef;
use super::store_cache::{self, Opened};
use crate::kcerr::KcErr;
use crate::node::{ConnInfo, Node};
use crate::redirect::best_server_path;
use crate::session::Session;
use crate::storage::{QuotaLevel, StoreType};
use crate::users::PluginError;

fn plugin_err(e: PluginError) -> KcErr {
    match e {
        PluginError::NotFound => KcErr::NOT_FOUND,
        PluginError::InvalidCredentials => KcErr::LOGON_FAILED,
        PluginError::NotSupported(_) => KcErr::NO_SUPPORT,
        PluginError::Unavailable(_) => KcErr::PLUGIN_ERROR,
    }
}

/// `scheme://authority` of `base` + `path_and_query` (KC paths end in `/kopano`
/// or similar; the API path replaces it).
fn rebase(base: &str, path_and_query: &str) -> String {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = base.strip_prefix(scheme) {
            let authority = rest.split('/').next().unwrap_or(rest);
            return format!("{scheme}{authority}{path_and_query}");
        }
    }
    format!("{base}{path_and_query}")
}

/// The addressed private store on this node, or a redirect to its home node;
/// the session's own store (`me`) is resolved once per [`store_cache::TTL`]
/// (`fresh` skips the memory, e.g. for `GET user`, and renews it).
pub(super) async fn open(
    node: &Arc<Node>,
    conn: &ConnInfo,
    session: &Session,
    sref: &StoreRef,
    path_and_query: &str,
    fresh: bool,
) -> R<Arc<Opened>> {
    let node_key = Arc::as_ptr(node) as usize;
    if *sref == StoreRef::Me && !fresh {
        if let Some(o) = store_cache::get(node_key, node.guid, session) {
            return Ok(o);
        }
    }
    let o = Arc::new(open_uncached(node, conn, session, sref, path_and_query).await?);
    if *sref == StoreRef::Me {
        store_cache::put(node_key, node.guid, session, o.clone());
    }
    Ok(o)
}

/// The addressed private store on this node, or a redirect to its home node.
async fn open_uncached(
    node: &Node,
    conn: &ConnInfo,
    session: &Session,
    sref: &StoreRef,
    path_and_query: &str,
) -> R<Opened> {
    let login = match sref {
        StoreRef::Me => session.login.clone(),
        StoreRef::User(l) => {
            if !l.eq_ignore_ascii_case(&session.login) && !session.is_admin() {
                return Err(Fail::Kc(KcErr::NO_ACCESS, "not your store".into()));
            }
            l.clone()
        }
    };
    if login.eq_ignore_ascii_case("SYSTEM") {
        return Err(Fail::Kc(KcErr::NOT_FOUND, "SYSTEM has no store".into()));
    }
    let info = node.plugin.user(&login).await.map_err(plugin_err)?;
    let object = node.ensure_local(&info).await?;
    if !node.is_home(Some(&info))? {
        let home = info.home_server.clone().unwrap_or_default();
        let server = node.plugin.server(&home).await.map_err(plugin_err)?;
        let best = best_server_path(
            &server.paths,
            conn.kind,
            node.proxied(conn),
            &node.settings.server_name,
        );
        let loc = rebase(&best.path?, path_and_query);
        tracing::info!("Redirecting request to {loc}");
        node.stats
            .redirects
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(Fail::Redirect(loc));
    }
    let st = node.ensure_private_store(&object).await?;
    if st.store_type != StoreType::Private {
        return Err(KcErr::NOT_FOUND.into());
    }
    Ok(Opened {
        store: st,
        info,
        object,
    })
}

/// Whether a write may go into `opened`'s store: refused (507) once the
/// store is at its hard quota.
pub(super) async fn admit_write(node: &Node, opened: &Opened) -> R<()> {
    let sid = opened.store.id;
    let defaults = node.settings.default_quota;
    let qs = node.db(move |s| s.quota_status(sid, &defaults)).await?;
    if qs.level == QuotaLevel::Hard {
        return Err(Fail::Kc(KcErr::STORE_FULL, "hard quota reached".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebase_keeps_authority() {
        assert_eq!(
            rebase("https://node2:237/kopano", "/kc-store/v1/me/quota?x=1"),
            "https://node2:237/kc-store/v1/me/quota?x=1"
        );
        assert_eq!(rebase("http://h", "/p"), "http://h/p");
    }
}
