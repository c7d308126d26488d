//! POP3 maildrop locks (RFC 1939 §8: "the POP3 server acquires an exclusive
//! access lock on the maildrop"). Held from a successful login until the
//! session ends; a second login for the same user is answered `-ERR
//! [IN-USE]` (RFC 2449). The lock lives in the gateway process: the edge
//! sends every user to the gateway beside their home node, so that is where
//! all of a user's POP3 sessions meet.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The logins whose maildrop is in use, by lower-cased login.
#[derive(Debug, Default, Clone)]
pub struct MaildropLocks {
    held: Arc<Mutex<HashSet<String>>>,
}

/// Releases its lock when dropped (QUIT, connection loss, shutdown).
#[derive(Debug)]
pub struct MaildropGuard {
    locks: MaildropLocks,
    key: String,
}

impl MaildropLocks {
    /// Takes the lock for `login`; `None` while another session holds it.
    pub fn try_lock(&self, login: &str) -> Option<MaildropGuard> {
        let key = login.to_lowercase();
        // A poisoned mutex only means a panic elsewhere; the set is intact.
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if !held.insert(key.clone()) {
            return None;
        }
        Some(MaildropGuard {
            locks: self.clone(),
            key,
        })
    }
}

impl Drop for MaildropGuard {
    fn drop(&mut self) {
        let mut held = self.locks.held.lock().unwrap_or_else(|p| p.into_inner());
        held.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_per_login_until_dropped() {
        let locks = MaildropLocks::default();
        let a = locks.try_lock("Alice").expect("first lock");
        assert!(locks.try_lock("alice").is_none());
        assert!(locks.try_lock("bob").is_some());
        drop(a);
        assert!(locks.try_lock("ALICE").is_some());
    }
}
