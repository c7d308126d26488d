//! Wake-ups for long-polling readers of the change log (IMAP IDLE through
//! `changes?wait=`): one watch channel per store that somebody waits on,
//! carrying the store's latest change number. The storage backend signals it
//! after every committed write, whichever path (API, LMTP, admin) wrote.

use std::collections::HashMap;

use parking_lot::Mutex;
use tokio::sync::watch;

/// Above this many channels, those nobody listens to are dropped on subscribe.
const SWEEP_AT: usize = 1024;

#[derive(Default)]
pub struct Notifier {
    stores: Mutex<HashMap<i64, watch::Sender<i64>>>,
}

impl Notifier {
    /// A receiver that sees `changed()` after the next committed change of
    /// `store`. Subscribe before reading the change log, so no change between
    /// the read and the wait is missed.
    pub fn subscribe(&self, store: i64) -> watch::Receiver<i64> {
        let mut m = self.stores.lock();
        if m.len() >= SWEEP_AT {
            m.retain(|_, tx| tx.receiver_count() > 0);
        }
        m.entry(store)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// `store` committed changes up to `modseq`.
    pub fn notify(&self, store: i64, modseq: i64) {
        let mut m = self.stores.lock();
        if let Some(tx) = m.get(&store) {
            if tx.receiver_count() == 0 {
                m.remove(&store);
            } else {
                tx.send_replace(modseq);
            }
        }
    }

    /// Whether anybody waits at all (lets writers skip the lookup).
    pub fn has_waiters(&self) -> bool {
        !self.stores.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_only_the_store_written() {
        let n = Notifier::default();
        let mut a = n.subscribe(1);
        let b = n.subscribe(2);
        n.notify(1, 7);
        assert!(a.has_changed().unwrap());
        assert_eq!(*a.borrow_and_update(), 7);
        assert!(!b.has_changed().unwrap());
        drop(b);
        n.notify(2, 8);
        assert!(n.stores.lock().get(&2).is_none());
        drop(a);
        n.notify(1, 9);
        assert!(!n.has_waiters());
    }
}
