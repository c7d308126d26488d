//! A cap on connections that have not logged in yet, per client address
//! (IPv6 by /64, as the login throttle). Logged-in sessions do not count:
//! their slot is released when the relay starts. This bounds what one host
//! can hold open at the edge without credentials; Dovecot's login processes
//! and nginx's `limit_conn` play the same role.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::throttle::ip_key;

/// Counts pre-login connections per address.
#[derive(Debug)]
pub struct PreauthLimiter {
    /// Most pre-login connections per address; 0 = no limit.
    max: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One pre-login connection; gives its place back when dropped.
#[derive(Debug)]
pub struct PreauthSlot {
    limiter: Arc<PreauthLimiter>,
    key: IpAddr,
}

impl PreauthLimiter {
    pub fn new(max: usize) -> Arc<PreauthLimiter> {
        Arc::new(PreauthLimiter {
            max,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for a new connection from `ip`; `None` when the address
    /// already holds `max` connections that have not logged in.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Option<PreauthSlot> {
        let key = ip_key(ip);
        // A poisoned lock only means a panic elsewhere; the counts are intact.
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(key).or_insert(0);
        if self.max > 0 && *n >= self.max {
            return None;
        }
        *n += 1;
        Some(PreauthSlot {
            limiter: self.clone(),
            key,
        })
    }

    /// Pre-login connections from `ip` now (for tests and metrics).
    pub fn count(&self, ip: IpAddr) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(&ip_key(ip)).copied().unwrap_or(0)
    }
}

impl Drop for PreauthSlot {
    fn drop(&mut self) {
        let mut counts = self
            .limiter
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_address_and_frees_on_drop() {
        let l = PreauthLimiter::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let s1 = l.acquire(a).unwrap();
        let _s2 = l.acquire(a).unwrap();
        assert!(l.acquire(a).is_none());
        assert!(l.acquire(b).is_some());
        drop(s1);
        assert_eq!(l.count(a), 1);
        assert!(l.acquire(a).is_some());
    }

    #[test]
    fn ipv6_counts_by_64_and_zero_is_unlimited() {
        let l = PreauthLimiter::new(1);
        let x: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let y: IpAddr = "2001:db8:1:2::99".parse().unwrap();
        let _s = l.acquire(x).unwrap();
        assert!(l.acquire(y).is_none(), "same /64");
        let free = PreauthLimiter::new(0);
        let slots: Vec<_> = (0..100).map(|_| free.acquire(x)).collect();
        assert!(slots.iter().all(Option::is_some));
    }
}
