//! The addressed store of a request: opening the user's home store on this
//! node, or the redirect to the node that holds it, and admitting writes
//! against its quota. Every handler goes through here, so the rule lives in
//! one place.

use std::sync::Arc;

use super::reply::{Fail, R};
use super::route::StoreRef;
use super::store_cache::{self, Opened};
use crate::home::{self, HomeStore};
use crate::kcerr::KcErr;
use crate::node::{ConnInfo, Node};
use crate::session::Session;
use crate::storage::StoreType;

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
    let HomeStore {
        store,
        info,
        object,
    } = match home::open(node, conn, &login).await? {
        home::Opened::Here(h) => *h,
        home::Opened::Redirect(path) => return Err(Fail::Redirect(rebase(&path, path_and_query))),
    };
    if store.store_type != StoreType::Private {
        return Err(KcErr::NOT_FOUND.into());
    }
    Ok(Opened {
        store,
        info,
        object,
    })
}

/// An early answer for a write of `added` bytes into `opened`'s store, for
/// callers that have not read the content yet: refused (507) when it cannot
/// fit under the hard quota (`home::may_store`). The write itself is
/// admitted again inside its transaction, which stays the authority.
pub(super) async fn admit_write(node: &Node, opened: &Opened, added: i64) -> R<()> {
    if home::may_store(node, opened.store.id, added).await? {
        Ok(())
    } else {
        Err(Fail::Kc(KcErr::STORE_FULL, "hard quota reached".into()))
    }
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
