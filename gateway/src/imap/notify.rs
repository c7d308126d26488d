//! One change watcher per user, shared by all IMAP sessions of that user in
//! this process.
//!
//! The watcher long-polls the store's change feed (`changes` with `wait`)
//! and publishes the newest change number on a `watch` channel. Sessions
//! use it as a cheap hint: when the published number is above what their
//! selected mailbox has applied, they read the changes themselves. IDLE
//! sleeps on the channel, so a delivery by LMTP or a flag change by another
//! client wakes every idling session of the user with one poll in total.
//!
//! The watcher lives as long as some session holds its [`Watch`]; the last
//! one dropping it stops the task. If the store session it polls with ends
//! (401), the task stops and the channel closes; sessions then subscribe
//! again with their own store session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use kc_store_api::client::{ClientError, Session as StoreSession};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long one long-poll waits on the node.
const WAIT: Duration = Duration::from_secs(240);
/// Pause after a failed poll (node down), so a dead node is not hammered.
const RETRY: Duration = Duration::from_secs(5);
/// Changes read per poll; only the newest number matters.
const LIMIT: u32 = 1_000;

/// A subscription to a user's change watcher.
#[derive(Debug)]
pub struct Watch {
    key: String,
    rx: watch::Receiver<i64>,
    task: JoinHandle<()>,
}

impl Watch {
    /// A receiver of the newest change number seen in the store.
    pub fn receiver(&self) -> watch::Receiver<i64> {
        self.rx.clone()
    }

    /// The newest change number seen so far.
    pub fn latest(&self) -> i64 {
        *self.rx.borrow()
    }

    /// Whether the polling task has ended (its store session expired).
    pub fn is_closed(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
        if let Ok(mut map) = registry().lock() {
            if map.get(&self.key).is_some_and(|w| w.strong_count() == 0) {
                map.remove(&self.key);
            }
        }
    }
}

fn registry() -> &'static Mutex<HashMap<String, Weak<Watch>>> {
    static REG: OnceLock<Mutex<HashMap<String, Weak<Watch>>>> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The watcher of `store`'s user, started from change number `since` when
/// none is running (or the running one has ended).
pub fn subscribe(store: &StoreSession, since: i64) -> Arc<Watch> {
    let key = format!("{}\u{0}{}", store.node(), store.login().to_lowercase());
    // The lock is never held while a `Watch` may drop (its Drop locks too).
    let existing = registry()
        .lock()
        .ok()
        .and_then(|map| map.get(&key).and_then(Weak::upgrade));
    if let Some(w) = existing {
        if !w.is_closed() {
            return w;
        }
    }
    let w = Arc::new(start(key.clone(), store.clone(), since));
    if let Ok(mut map) = registry().lock() {
        map.insert(key, Arc::downgrade(&w));
    }
    w
}

fn start(key: String, store: StoreSession, since: i64) -> Watch {
    let (tx, rx) = watch::channel(since);
    let span = tracing::debug_span!(parent: None, "imap-watch", user = %store.login());
    let task = tokio::spawn(tracing::Instrument::instrument(
        poll(store, since, tx),
        span,
    ));
    Watch { key, rx, task }
}

async fn poll(store: StoreSession, mut since: i64, tx: watch::Sender<i64>) {
    loop {
        match store.changes(since, LIMIT, Some(WAIT)).await {
            Ok(changes) => {
                if let Some(last) = changes.last() {
                    since = since.max(last.modseq);
                    tx.send_replace(since);
                }
            }
            Err(ClientError::Session) => {
                tracing::debug!("store session ended; watcher stops");
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, "change poll failed");
                tokio::time::sleep(RETRY).await;
            }
        }
        if tx.is_closed() {
            return;
        }
    }
}
