//! The node's side of LMTP delivery: [`NodeDelivery`] implements
//! [`Delivery`] over the node's user plugin and storage, so mail handed over
//! on `lmtp_listen` lands in the recipients' Inboxes on this node.
//!
//! Recipients resolve, case-insensitively, by email address or alias, then
//! by the whole address as a login, then by the local part as a login. In
//! multi-server mode a user homed on another node is answered 550 (Unknown):
//! the MTA must route by `kopanoUserServer` (KC manual §5.11), this node
//! neither proxies nor forwards deliveries.
//!
//! The home store comes from `home.rs`. Quota: a store already at its hard
//! level is refused at RCPT (any message would take it above); the delivery
//! itself is admitted per store inside the storing transaction with the size
//! after the write (`storage::quota`), so a recipient is answered 552 5.2.2
//! when the message does not fit and nothing is stored for it.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tracing::{info, warn};

use crate::home;
use crate::lmtp::{
    AcceptedRecipient, Delivery, Envelope, Mailbox, Message, RecipientCheck, RecipientOutcome,
};
use crate::node::Node;
use crate::storage::items::{ItemKind, NewItem};
use crate::users::{PluginError, UserInfo};

/// Delivers into the private stores of users homed on this node.
pub struct NodeDelivery {
    node: Arc<Node>,
}

impl NodeDelivery {
    pub fn new(node: Arc<Node>) -> NodeDelivery {
        NodeDelivery { node }
    }

    async fn resolve(&self, address: &Mailbox) -> Result<UserInfo, PluginError> {
        let plugin = &self.node.plugin;
        let full = address.address();
        match plugin.user_by_address(&full).await {
            Err(PluginError::NotFound) => {}
            other => return other,
        }
        match plugin.user(&full).await {
            Err(PluginError::NotFound) => {}
            other => return other,
        }
        if address.local_part().is_empty() {
            return Err(PluginError::NotFound);
        }
        plugin.user(address.local_part()).await
    }
}

/// A resolved recipient: the store and Inbox mail goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub user_id: i64,
    pub login: String,
    pub store_id: i64,
    pub inbox: i64,
}

#[async_trait]
impl Delivery for NodeDelivery {
    type Recipient = Target;

    async fn check_recipient(&self, address: &Mailbox) -> RecipientCheck<Target> {
        let info = match self.resolve(address).await {
            Ok(i) => i,
            Err(PluginError::NotFound | PluginError::InvalidCredentials) => {
                return RecipientCheck::Unknown
            }
            Err(e) => {
                warn!(rcpt = %address.address(), error = %e, "recipient lookup failed");
                return RecipientCheck::TempFail;
            }
        };
        match home::is_home(&self.node, Some(&info)) {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                info!(rcpt = %address.address(), login = %info.login, home = ?info.home_server,
                    "recipient is not homed on this node");
                return RecipientCheck::Unknown;
            }
        }
        let object = match home::ensure_local(&self.node, &info).await {
            Ok(o) => o,
            Err(e) => {
                warn!(login = %info.login, error = ?e, "cannot mirror recipient");
                return RecipientCheck::TempFail;
            }
        };
        let store = match home::private_store(&self.node, &object).await {
            Ok(s) => s,
            Err(e) => {
                warn!(login = %info.login, error = ?e, "cannot open recipient store");
                return RecipientCheck::TempFail;
            }
        };
        let store_id = store.id;
        let inbox = self
            .node
            .db(move |s| {
                Ok(s.folders(store_id)?
                    .into_iter()
                    .find(|f| f.role.as_deref() == Some("inbox"))
                    .map(|f| f.id))
            })
            .await;
        // Every message has at least one byte.
        let full = match home::may_store(&self.node, store_id, 1).await {
            Ok(fits) => !fits,
            Err(e) => {
                warn!(login = %info.login, error = ?e, "cannot read recipient quota");
                return RecipientCheck::TempFail;
            }
        };
        match inbox.map(|i| (i, full)) {
            Ok((_, true)) => RecipientCheck::OverQuota,
            Ok((Some(inbox), false)) => RecipientCheck::Accept(Target {
                user_id: object.id,
                login: object.login,
                store_id,
                inbox,
            }),
            Ok((None, false)) => {
                warn!(login = %info.login, "recipient store has no Inbox");
                RecipientCheck::TempFail
            }
            Err(e) => {
                warn!(login = %info.login, error = ?e, "cannot read recipient store");
                RecipientCheck::TempFail
            }
        }
    }

    async fn deliver(
        &self,
        message: &Message,
        _envelope: &Envelope,
        recipients: &[AcceptedRecipient<Target>],
    ) -> Vec<RecipientOutcome> {
        // The body is at most the session's message size limit; a spooled one
        // is read back from tmp_path once for all recipients.
        let body = match message.read_all() {
            Ok(b) => b.into_owned(),
            Err(e) => {
                warn!(error = %e, "cannot read spooled message");
                return vec![RecipientOutcome::TempFail; recipients.len()];
            }
        };
        let targets: Vec<Target> = recipients.iter().map(|r| r.target.clone()).collect();
        let storage = self.node.storage.clone();
        let defaults = home::write_quota(&self.node);
        let now = crate::node::now();
        let joined = tokio::task::spawn_blocking(move || {
            let len = body.len();
            // Each store once: two RCPTs for one store get one copy and the
            // same answer.
            let mut stores: Vec<&Target> = Vec::new();
            for t in &targets {
                if !stores.iter().any(|s| s.store_id == t.store_id) {
                    stores.push(t);
                }
            }
            let item = NewItem {
                kind: ItemKind::Mail,
                obj_uid: None,
                body: &body,
                flags: &[],
                internal_date: now,
            };
            let inboxes: Vec<i64> = stores.iter().map(|t| t.inbox).collect();
            // One transaction for every recipient: it returns after the
            // commit (synchronous = FULL), and only then may the MTA drop its
            // copy. Each store is admitted against its hard quota inside it;
            // any other failure stores nothing, so no recipient is
            // acknowledged for a copy that is not on disk.
            let mut outcome: HashMap<i64, RecipientOutcome> = HashMap::new();
            match storage.append_item_many(&inboxes, &item, &defaults) {
                Ok(done) => {
                    for (t, a) in stores.iter().zip(done) {
                        let o = match a {
                            Some(a) => {
                                info!(login = %t.login, uid = a.uid, size = len, "delivered");
                                RecipientOutcome::Delivered
                            }
                            None => {
                                info!(login = %t.login, size = len, "over hard quota");
                                RecipientOutcome::OverQuota
                            }
                        };
                        outcome.insert(t.store_id, o);
                    }
                }
                Err(e) => {
                    warn!(error = %e, recipients = stores.len(), "delivery failed");
                }
            }
            targets
                .iter()
                .map(|t| {
                    outcome
                        .get(&t.store_id)
                        .copied()
                        .unwrap_or(RecipientOutcome::TempFail)
                })
                .collect::<Vec<_>>()
        })
        .await;
        match joined {
            Ok(v) => v,
            Err(e) => {
                warn!(error = %e, "delivery task failed");
                vec![RecipientOutcome::TempFail; recipients.len()]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::lmtp::ReversePath;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::{ObjectData, ObjectKind, Quota, Storage, StoreType};

    fn user(s: &SqliteStorage, login: &str, hard: i64) -> i64 {
        let data = ObjectData {
            login: login.into(),
            email: format!("{login}@example.com"),
            ..Default::default()
        };
        let id = s
            .create_object(ObjectKind::User, "db", login, &data)
            .unwrap();
        let q = Quota {
            override_default: hard > 0,
            warn: 0,
            soft: 0,
            hard,
        };
        s.set_quota(id, &q).unwrap();
        id
    }

    fn files(dir: &std::path::Path) -> usize {
        let mut n = 0;
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    todo.push(e.path());
                } else {
                    n += 1;
                }
            }
        }
        n
    }

    async fn accept(d: &NodeDelivery, login: &str) -> RecipientCheck<Target> {
        d.check_recipient(&Mailbox::new(login, "example.com")).await
    }

    #[tokio::test]
    async fn over_quota_recipients_get_nothing_stored() {
        let dir = tempfile::tempdir().unwrap();
        let att = dir.path().join("att");
        let s = Arc::new(SqliteStorage::in_memory_with_attachments(&att).unwrap());
        let full = user(&s, "full", 1000);
        user(&s, "room", 0);
        let d = NodeDelivery::new(crate::api::http_tests::test_node(s.clone()));
        let mut accepted = vec![];
        for login in ["full", "room"] {
            // Both stores are empty: RCPT accepts both.
            let RecipientCheck::Accept(target) = accept(&d, login).await else {
                panic!("{login} refused at RCPT");
            };
            accepted.push(AcceptedRecipient {
                address: Mailbox::new(login, "example.com"),
                target,
            });
        }
        let env = Envelope {
            lhlo: "test".into(),
            sender: ReversePath::Null,
            body: None,
            smtputf8: false,
            declared_size: None,
        };
        // Larger than full's 1000 bytes, with an attachment file.
        let raw = crate::storage::segments::tests::big_message(&[3u8; 100_000], "");
        let out = d
            .deliver(&Message::Memory(Bytes::from(raw)), &env, &accepted)
            .await;
        assert_eq!(
            out,
            [RecipientOutcome::OverQuota, RecipientOutcome::Delivered]
        );
        let store = s.store_of(full, StoreType::Private).unwrap().unwrap();
        assert_eq!(store.size, 0);
        let inbox = accepted[0].target.inbox;
        assert!(s.list_items(inbox, 0, 10).unwrap().is_empty());
        assert_eq!(files(&att), 1, "only the delivered copy's attachment");

        // Filled to its hard level, the store is refused at RCPT already.
        let item = NewItem {
            kind: ItemKind::Mail,
            obj_uid: None,
            body: &[b'x'; 1000],
            flags: &[],
            internal_date: 1,
        };
        s.append_item(inbox, &item, &Quota::default()).unwrap();
        assert_eq!(accept(&d, "full").await, RecipientCheck::OverQuota);
    }
}
