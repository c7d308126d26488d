//! The node's side of LMTP delivery: [`NodeDelivery`] implements
//! [`Delivery`] over the node's user plugin and storage, so mail handed over
//! on `lmtp_listen` lands in the recipients' Inboxes on this node.
//!
//! Recipients resolve, case-insensitively, by email address or alias, then
//! by the whole address as a login, then by the local part as a login. In
//! multi-server mode a user homed on another node is answered 550 (Unknown):
//! the MTA must route by `kopanoUserServer` (KC manual §5.11), this node
//! neither proxies nor forwards deliveries.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tracing::{info, warn};

use crate::lmtp::{
    AcceptedRecipient, Delivery, Envelope, Mailbox, Message, RecipientCheck, RecipientOutcome,
};
use crate::node::Node;
use crate::storage::items::{ItemKind, NewItem};
use crate::storage::quota::QuotaLevel;
use crate::storage::{Quota, Storage, StorageError};
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

/// Whether storing `extra` more bytes would cross the hard quota. A store
/// already at its hard limit refuses even an empty message.
fn over_hard_quota(
    s: &dyn Storage,
    store: i64,
    defaults: &Quota,
    extra: i64,
) -> Result<bool, StorageError> {
    let st = s.quota_status(store, defaults)?;
    Ok(st.level == QuotaLevel::Hard || (st.hard > 0 && st.size.saturating_add(extra) > st.hard))
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
        match self.node.is_home(Some(&info)) {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                info!(rcpt = %address.address(), login = %info.login, home = ?info.home_server,
                    "recipient is not homed on this node");
                return RecipientCheck::Unknown;
            }
        }
        let object = match self.node.ensure_local(&info).await {
            Ok(o) => o,
            Err(e) => {
                warn!(login = %info.login, error = ?e, "cannot mirror recipient");
                return RecipientCheck::TempFail;
            }
        };
        let store = match self.node.ensure_private_store(&object).await {
            Ok(s) => s,
            Err(e) => {
                warn!(login = %info.login, error = ?e, "cannot open recipient store");
                return RecipientCheck::TempFail;
            }
        };
        let defaults = self.node.settings.default_quota;
        let store_id = store.id;
        let found = self
            .node
            .db(move |s| {
                let inbox = s
                    .folders(store_id)?
                    .into_iter()
                    .find(|f| f.role.as_deref() == Some("inbox"))
                    .map(|f| f.id);
                let full = over_hard_quota(s, store_id, &defaults, 0)?;
                Ok((inbox, full))
            })
            .await;
        match found {
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
        let defaults = self.node.settings.default_quota;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let joined = tokio::task::spawn_blocking(move || {
            let len = i64::try_from(body.len()).unwrap_or(i64::MAX);
            // Each store once: two RCPTs for one store get one copy and the
            // same answer.
            let mut outcome: HashMap<i64, RecipientOutcome> = HashMap::new();
            let mut accepted: Vec<&Target> = Vec::new();
            for t in &targets {
                if outcome.contains_key(&t.store_id) {
                    continue;
                }
                let o = match over_hard_quota(storage.as_ref(), t.store_id, &defaults, len) {
                    Ok(true) => RecipientOutcome::OverQuota,
                    Ok(false) => {
                        accepted.push(t);
                        RecipientOutcome::Delivered
                    }
                    Err(e) => {
                        warn!(login = %t.login, error = %e, "quota check failed");
                        RecipientOutcome::TempFail
                    }
                };
                outcome.insert(t.store_id, o);
            }
            if !accepted.is_empty() {
                let item = NewItem {
                    kind: ItemKind::Mail,
                    obj_uid: None,
                    body: &body,
                    flags: &[],
                    internal_date: now,
                };
                let inboxes: Vec<i64> = accepted.iter().map(|t| t.inbox).collect();
                // One transaction for every recipient: it returns after the
                // commit (synchronous = FULL), and only then may the MTA drop
                // its copy. All or nothing, so no recipient is acknowledged
                // for a copy that is not on disk.
                match storage.append_item_many(&inboxes, &item) {
                    Ok(done) => {
                        for (t, a) in accepted.iter().zip(done) {
                            info!(login = %t.login, uid = a.uid, size = len, "delivered");
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, recipients = accepted.len(), "delivery failed");
                        for t in &accepted {
                            outcome.insert(t.store_id, RecipientOutcome::TempFail);
                        }
                    }
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
