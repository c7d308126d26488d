//! Failed-login throttling after Dovecot's auth penalty model: every
//! failure within the window doubles the delay imposed on the next attempt
//! from the same client address or for the same user name, up to a cap; a
//! success clears both; entries expire after a quiet window. On top of the
//! delays, a limit refuses attempts outright once an address or a user has
//! failed that many times within the window.
//!
//! Pure: time is passed in, the caller sleeps.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Throttle parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Delay after the first failure.
    pub base: Duration,
    /// Longest delay.
    pub cap: Duration,
    /// Failures within the window after which attempts are refused; 0 = never.
    pub limit: u32,
    /// How long a client address or user is remembered after its last failure.
    pub window: Duration,
    /// Most addresses and most user names remembered (each).
    pub max_entries: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(15),
            limit: 10,
            window: Duration::from_secs(15 * 60),
            max_entries: 65536,
        }
    }
}

/// What to do with a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go on after waiting this long (zero: no recent failures).
    Proceed(Duration),
    /// Too many failures: refuse without asking the node.
    Refuse,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

#[derive(Debug)]
struct Table<K> {
    map: HashMap<K, Entry>,
}

impl<K: Eq + Hash + Clone> Table<K> {
    fn failures(&mut self, key: &K, now: Instant, window: Duration) -> u32 {
        match self.map.get(key) {
            Some(e) if now.saturating_duration_since(e.last) < window => e.failures,
            Some(_) => {
                self.map.remove(key);
                0
            }
            None => 0,
        }
    }

    fn record(&mut self, key: &K, now: Instant, cfg: &ThrottleConfig) -> u32 {
        let current = self.failures(key, now, cfg.window);
        if current == 0 && self.map.len() >= cfg.max_entries {
            self.map
                .retain(|_, e| now.saturating_duration_since(e.last) < cfg.window);
            if self.map.len() >= cfg.max_entries {
                // Forget the quietest entry rather than stop tracking newcomers.
                if let Some(oldest) = self
                    .map
                    .iter()
                    .min_by_key(|(_, e)| e.last)
                    .map(|(k, _)| k.clone())
                {
                    self.map.remove(&oldest);
                }
            }
        }
        let failures = current.saturating_add(1);
        self.map.insert(
            key.clone(),
            Entry {
                failures,
                last: now,
            },
        );
        failures
    }
}

/// The failure tables of all mail listeners.
#[derive(Debug)]
pub struct Throttle {
    cfg: ThrottleConfig,
    ips: Table<IpAddr>,
    users: Table<String>,
}

/// The key of a client address: IPv4 as is (also when IPv4-mapped), IPv6
/// by its /64, which one client usually owns whole.
pub fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
    }
}

fn user_key(user: &str) -> String {
    user.to_lowercase()
}

impl Throttle {
    /// Empty tables.
    pub fn new(cfg: ThrottleConfig) -> Throttle {
        Throttle {
            cfg,
            ips: Table {
                map: HashMap::new(),
            },
            users: Table {
                map: HashMap::new(),
            },
        }
    }

    /// The parameters.
    pub fn config(&self) -> &ThrottleConfig {
        &self.cfg
    }

    /// The delay that follows `failures` failures.
    pub fn delay_for(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32
            .checked_shl(failures.saturating_sub(1).min(31))
            .unwrap_or(u32::MAX);
        self.cfg.base.saturating_mul(factor).min(self.cfg.cap)
    }

    /// Failures on record for this address and user (the larger count).
    pub fn failures(&mut self, ip: IpAddr, user: &str, now: Instant) -> u32 {
        let window = self.cfg.window;
        let a = self.ips.failures(&ip_key(ip), now, window);
        let b = self.users.failures(&user_key(user), now, window);
        a.max(b)
    }

    /// Judges an attempt before the node is asked.
    pub fn check(&mut self, ip: IpAddr, user: &str, now: Instant) -> Verdict {
        let failures = self.failures(ip, user, now);
        if self.cfg.limit > 0 && failures >= self.cfg.limit {
            return Verdict::Refuse;
        }
        Verdict::Proceed(self.delay_for(failures))
    }

    /// Records a failed login; returns the new failure count.
    pub fn failure(&mut self, ip: IpAddr, user: &str, now: Instant) -> u32 {
        let cfg = self.cfg;
        let a = self.ips.record(&ip_key(ip), now, &cfg);
        let b = self.users.record(&user_key(user), now, &cfg);
        a.max(b)
    }

    /// Records a successful login: both entries are cleared.
    pub fn success(&mut self, ip: IpAddr, user: &str) {
        self.ips.map.remove(&ip_key(ip));
        self.users.map.remove(&user_key(user));
    }

    /// Entries held (addresses, users).
    pub fn len(&self) -> (usize, usize) {
        (self.ips.map.len(), self.users.map.len())
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.ips.map.is_empty() && self.users.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ThrottleConfig {
        ThrottleConfig {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15),
            limit: 5,
            window: Duration::from_secs(600),
            max_entries: 3,
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn delays_double_up_to_the_cap_then_refuse() {
        let mut t = Throttle::new(cfg());
        let now = Instant::now();
        assert_eq!(t.check(A, "alice", now), Verdict::Proceed(Duration::ZERO));
        let mut seen = Vec::new();
        for _ in 0..4 {
            t.failure(A, "alice", now);
            seen.push(t.check(A, "alice", now));
        }
        assert_eq!(
            seen,
            [2, 4, 8, 15].map(|s| Verdict::Proceed(Duration::from_secs(s)))
        );
        t.failure(A, "alice", now);
        assert_eq!(t.check(A, "alice", now), Verdict::Refuse);
        // Per user: another address trying alice is refused too ...
        assert_eq!(t.check(B, "ALICE", now), Verdict::Refuse);
        // ... and per address: A trying someone else as well.
        assert_eq!(t.check(A, "bob", now), Verdict::Refuse);
        assert_eq!(t.check(B, "bob", now), Verdict::Proceed(Duration::ZERO));
    }

    #[test]
    fn success_resets_and_entries_expire() {
        let mut t = Throttle::new(cfg());
        let now = Instant::now();
        t.failure(A, "alice", now);
        t.failure(A, "alice", now);
        t.success(A, "alice");
        assert_eq!(t.check(A, "alice", now), Verdict::Proceed(Duration::ZERO));
        t.failure(A, "alice", now);
        let later = now + Duration::from_secs(601);
        assert_eq!(t.check(A, "alice", later), Verdict::Proceed(Duration::ZERO));
        assert!(t.is_empty());
        // A failure after expiry starts from one again.
        assert_eq!(t.failure(A, "alice", later), 1);
    }

    #[test]
    fn tables_are_bounded() {
        let mut t = Throttle::new(cfg());
        let now = Instant::now();
        for (i, u) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let ip = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, i as u8));
            t.failure(ip, u, now + Duration::from_secs(i as u64));
        }
        assert_eq!(t.len(), (3, 3));
        // The newest are kept.
        assert_eq!(t.failures(B, "e", now + Duration::from_secs(5)), 1);
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(ip_key(a), ip_key(b));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(ip_key(mapped), A);
        let mut t = Throttle::new(cfg());
        let now = Instant::now();
        t.failure(a, "x", now);
        assert_eq!(t.failures(b, "y", now), 1);
        assert_eq!(t.delay_for(40), Duration::from_secs(15));
    }
}
