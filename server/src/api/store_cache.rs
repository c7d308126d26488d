//! Per-session memory of the resolved own store (`me`): the user lookup in the
//! plugin, the local object, the home-node check and the private store cost
//! several database round trips, and a gateway session makes many requests
//! (a FETCH, a SELECT) against the same store.
//!
//! Only a store found *on this node* is kept, never a redirect, and only for a
//! short time ([`TTL`]): an entry is used only together with a session the
//! session manager still validates, and it is dropped when it is older than
//! [`TTL`], so a home-node change, a renamed user or a removed store take
//! effect within that time and never outlive the session. Entries of ended
//! sessions are pruned by age.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::session::Session;
use crate::storage::{Object, Store};
use crate::users::UserInfo;

/// How long a resolution is reused.
pub const TTL: Duration = Duration::from_secs(30);
/// Most entries kept (beyond it, expired ones go; then all).
const MAX_ENTRIES: usize = 20_000;

/// An addressed store on this node with its owner.
#[derive(Debug)]
pub struct Opened {
    pub store: Store,
    pub info: UserInfo,
    pub object: Object,
}

/// Which node (several can live in one process, e.g. in tests) and session.
type Key = (usize, [u8; 16], u64);

struct Entry {
    user_id: i64,
    login: String,
    at: Instant,
    opened: Arc<Opened>,
}

static CACHE: LazyLock<Mutex<HashMap<Key, Entry>>> = LazyLock::new(Default::default);

fn key(node: usize, guid: [u8; 16], session: &Session) -> Key {
    (node, guid, session.id)
}

/// The resolution kept for this (validated) session, if still fresh.
pub fn get(node: usize, guid: [u8; 16], session: &Session) -> Option<Arc<Opened>> {
    let k = key(node, guid, session);
    let mut map = CACHE.lock();
    let e = map.get(&k)?;
    if e.at.elapsed() < TTL && e.user_id == session.user_id && e.login == session.login {
        return Some(e.opened.clone());
    }
    map.remove(&k);
    None
}

/// Remembers the session's own store.
pub fn put(node: usize, guid: [u8; 16], session: &Session, opened: Arc<Opened>) {
    let mut map = CACHE.lock();
    if map.len() >= MAX_ENTRIES {
        map.retain(|_, e| e.at.elapsed() < TTL);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
    }
    map.insert(
        key(node, guid, session),
        Entry {
            user_id: session.user_id,
            login: session.login.clone(),
            at: Instant::now(),
            opened,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{NewSession, SessionManager};
    use crate::storage::StoreType;

    #[test]
    fn kept_per_node_and_session_and_user() {
        let sm = SessionManager::new(Duration::from_secs(60), false);
        let new = |user_id, login: &str| NewSession {
            user_id,
            login: login.into(),
            admin_level: 0,
            source: "x".into(),
            capabilities: 0,
            client_app: "t".into(),
        };
        let a = sm.validate(sm.create(new(5, "ann")).unwrap(), "x").unwrap();
        let b = sm.validate(sm.create(new(6, "bob")).unwrap(), "x").unwrap();
        let opened = Arc::new(Opened {
            store: Store {
                id: 42,
                guid: [0; 16],
                store_type: StoreType::Private,
                owner: Some(5),
                owner_name: "ann".into(),
                root_folder: 1,
                created: 0,
                modified: 0,
                size: 0,
            },
            info: UserInfo::default(),
            object: Object {
                id: 5,
                kind: crate::storage::ObjectKind::User,
                source: "db".into(),
                external_id: "ann".into(),
                login: "ann".into(),
                fullname: String::new(),
                email: String::new(),
                admin_level: 0,
                nonactive: false,
                hidden: false,
                quota: Default::default(),
                enabled_features: vec![],
                disabled_features: vec![],
                last_logon: None,
                last_logoff: None,
            },
        });
        let (node, guid) = (0x1000, [7; 16]);
        assert!(get(node, guid, &a).is_none());
        put(node, guid, &a, opened);
        assert_eq!(get(node, guid, &a).map(|o| o.store.id), Some(42));
        assert!(get(node, guid, &b).is_none());
        assert!(get(node + 8, guid, &a).is_none());
        assert!(get(node, [8; 16], &a).is_none());
        // Same id, another user (an id handed out again): not used, dropped.
        let mut other = a.clone();
        other.user_id = 9;
        assert!(get(node, guid, &other).is_none());
        assert!(get(node, guid, &a).is_none());
    }
}
