//! A bounded TTL cache with single-flight loading.
//!
//! Concurrent misses for one key share one load: the first caller loads, the
//! others wait on a watch channel for its result. If the loading caller is
//! cancelled, the slot is cleared and one of the waiters takes over.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::error::DirError;

/// Lifetimes and bounds of the directory cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// How long found users (and the user list) stay cached.
    pub user_ttl: Duration,
    /// How long servers, companies and the server list stay cached (KC's
    /// `cache_server_lifetime`, 30 minutes).
    pub server_ttl: Duration,
    /// How long "not found" / "ambiguous" answers stay cached.
    pub negative_ttl: Duration,
    /// Most entries per object kind; the soonest-expiring ones are evicted first.
    pub max_entries: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            user_ttl: Duration::from_secs(300),
            server_ttl: Duration::from_secs(30 * 60),
            negative_ttl: Duration::from_secs(60),
            max_entries: 100_000,
        }
    }
}

/// Counters since the directory was created (never reset by `invalidate`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Answers served from the cache (positive or negative).
    pub hits: u64,
    /// Lookups that had to ask the source.
    pub misses: u64,
    /// Lookups that waited for another caller's identical in-flight search.
    pub coalesced: u64,
    /// Searches and binds the source actually performed.
    pub searches: u64,
    /// Source operations that failed (unreachable server, LDAP error result).
    pub errors: u64,
    /// Entries currently cached, over all kinds.
    pub entries: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub coalesced: AtomicU64,
    pub searches: AtomicU64,
    pub errors: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

type Shared<V> = Option<Result<V, DirError>>;

enum Slot<V> {
    Ready {
        value: Result<V, DirError>,
        expires: Instant,
    },
    Loading {
        id: u64,
        rx: watch::Receiver<Shared<V>>,
    },
}

struct State<V> {
    map: HashMap<String, Slot<V>>,
    next_id: u64,
    /// Bumped by `clear`; loads started before a clear do not store results.
    epoch: u64,
}

pub(crate) struct TtlCache<V> {
    state: Mutex<State<V>>,
    ttl: Duration,
    negative_ttl: Duration,
    max: usize,
    counters: Arc<Counters>,
}

enum Step<V> {
    Done(Result<V, DirError>),
    Wait(watch::Receiver<Shared<V>>),
    Load(watch::Sender<Shared<V>>, u64, u64),
}

/// Removes a still-loading slot when the loading future is dropped early.
struct LoadGuard<'a, V> {
    cache: &'a TtlCache<V>,
    key: &'a str,
    id: u64,
    armed: bool,
}

impl<V> Drop for LoadGuard<'_, V> {
    fn drop(&mut self) {
        if self.armed {
            let mut st = self.cache.state.lock();
            if matches!(st.map.get(self.key), Some(Slot::Loading { id, .. }) if *id == self.id) {
                st.map.remove(self.key);
            }
        }
    }
}

impl<V: Clone> TtlCache<V> {
    pub(crate) fn new(ttl: Duration, cfg: &CacheConfig, counters: Arc<Counters>) -> Self {
        TtlCache {
            state: Mutex::new(State {
                map: HashMap::new(),
                next_id: 0,
                epoch: 0,
            }),
            ttl,
            negative_ttl: cfg.negative_ttl,
            max: cfg.max_entries.max(1),
            counters,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.state.lock().map.len()
    }

    /// Drops every cached answer; in-flight loads still answer their waiters
    /// but do not store their (possibly stale) result.
    pub(crate) fn clear(&self) {
        let mut st = self.state.lock();
        st.map.retain(|_, s| matches!(s, Slot::Loading { .. }));
        st.epoch += 1;
    }

    /// Returns the cached answer for `key`, or runs `load` (once across all
    /// concurrent callers) and caches its answer. Transient errors are
    /// handed to the waiters but not cached.
    pub(crate) async fn get_or_load<F, Fut>(&self, key: &str, load: F) -> Result<V, DirError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, DirError>>,
    {
        let mut load = Some(load);
        loop {
            let step = {
                let mut st = self.state.lock();
                let now = Instant::now();
                match st.map.get(key) {
                    Some(Slot::Ready { value, expires }) if *expires > now => {
                        Step::Done(value.clone())
                    }
                    Some(Slot::Loading { rx, .. }) => Step::Wait(rx.clone()),
                    _ => {
                        if st.map.len() >= self.max && !st.map.contains_key(key) {
                            Self::evict(&mut st.map, self.max, now);
                        }
                        let (tx, rx) = watch::channel(None);
                        st.next_id += 1;
                        let id = st.next_id;
                        st.map.insert(key.to_string(), Slot::Loading { id, rx });
                        Step::Load(tx, id, st.epoch)
                    }
                }
            };
            let (tx, id, epoch) = match step {
                Step::Done(v) => {
                    Counters::bump(&self.counters.hits);
                    return v;
                }
                Step::Wait(mut rx) => {
                    Counters::bump(&self.counters.coalesced);
                    // Err: the loader was dropped before answering; go again.
                    if let Ok(v) = rx.wait_for(Option::is_some).await {
                        if let Some(v) = v.as_ref() {
                            return v.clone();
                        }
                    }
                    continue;
                }
                Step::Load(tx, id, epoch) => (tx, id, epoch),
            };
            Counters::bump(&self.counters.misses);
            let mut guard = LoadGuard {
                cache: self,
                key,
                id,
                armed: true,
            };
            let Some(f) = load.take() else {
                return Err(DirError::Unavailable("cache loader reused".into()));
            };
            let result = f().await;
            {
                let mut st = self.state.lock();
                let ours = matches!(st.map.get(key), Some(Slot::Loading { id: i, .. }) if *i == id);
                let ttl = match &result {
                    Ok(_) => Some(self.ttl),
                    Err(e) if e.is_negative_answer() => Some(self.negative_ttl),
                    Err(_) => None,
                };
                if ours {
                    match ttl {
                        Some(ttl) if st.epoch == epoch && !ttl.is_zero() => {
                            st.map.insert(
                                key.to_string(),
                                Slot::Ready {
                                    value: result.clone(),
                                    expires: Instant::now() + ttl,
                                },
                            );
                        }
                        _ => {
                            st.map.remove(key);
                        }
                    }
                }
                guard.armed = false;
            }
            // No receivers left is fine: nobody was waiting.
            let _ = tx.send(Some(result.clone()));
            return result;
        }
    }

    /// Frees room: expired answers first, then the soonest-expiring eighth.
    fn evict(map: &mut HashMap<String, Slot<V>>, max: usize, now: Instant) {
        map.retain(|_, s| !matches!(s, Slot::Ready { expires, .. } if *expires <= now));
        if map.len() < max {
            return;
        }
        let mut ready: Vec<(Instant, String)> = map
            .iter()
            .filter_map(|(k, s)| match s {
                Slot::Ready { expires, .. } => Some((*expires, k.clone())),
                Slot::Loading { .. } => None,
            })
            .collect();
        ready.sort();
        let n = (max / 8).max(1).min(ready.len());
        for (_, k) in ready.into_iter().take(n) {
            map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ObjectKind;
    use std::sync::atomic::AtomicUsize;

    fn cache(ttl: u64, max: usize) -> (Arc<TtlCache<u32>>, Arc<Counters>) {
        let c = Arc::new(Counters::default());
        let cfg = CacheConfig {
            negative_ttl: Duration::from_secs(60),
            max_entries: max,
            ..CacheConfig::default()
        };
        (
            Arc::new(TtlCache::new(Duration::from_secs(ttl), &cfg, c.clone())),
            c,
        )
    }

    #[tokio::test]
    async fn single_flight() {
        let (cache, counters) = cache(60, 100);
        let loads = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let (cache, loads) = (cache.clone(), loads.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_load("k", || async {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(7)
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(7));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(counters.misses.load(Ordering::SeqCst), 1);
        assert_eq!(
            counters.hits.load(Ordering::SeqCst) + counters.coalesced.load(Ordering::SeqCst),
            199
        );
    }

    #[tokio::test]
    async fn negative_cached_transient_not() {
        let (cache, _) = cache(60, 100);
        let nf = DirError::NotFound {
            kind: ObjectKind::User,
            name: "x".into(),
        };
        let r = cache.get_or_load("x", || async { Err(nf.clone()) }).await;
        assert_eq!(r, Err(nf.clone()));
        let r = cache.get_or_load("x", || async { Ok(1) }).await;
        assert_eq!(r, Err(nf));
        let r = cache
            .get_or_load("y", || async { Err(DirError::Unavailable("down".into())) })
            .await;
        assert!(r.is_err());
        assert_eq!(cache.get_or_load("y", || async { Ok(2) }).await, Ok(2));
        cache.clear();
        assert_eq!(cache.get_or_load("x", || async { Ok(3) }).await, Ok(3));
    }

    #[tokio::test]
    async fn zero_ttl_and_bounds() {
        let (c0, _) = cache(0, 100);
        assert_eq!(c0.get_or_load("a", || async { Ok(1) }).await, Ok(1));
        assert_eq!(c0.get_or_load("a", || async { Ok(2) }).await, Ok(2));
        let (c, _) = cache(60, 16);
        for i in 0..100u32 {
            let k = format!("k{i}");
            assert_eq!(c.get_or_load(&k, || async move { Ok(i) }).await, Ok(i));
            assert!(c.len() <= 16);
        }
    }

    #[tokio::test]
    async fn cancelled_loader_hands_over() {
        let (cache, _) = cache(60, 100);
        let c2 = cache.clone();
        let first = tokio::spawn(async move {
            c2.get_or_load("k", || async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(1)
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let c3 = cache.clone();
        let waiter = tokio::spawn(async move { c3.get_or_load("k", || async { Ok(2) }).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        first.abort();
        assert_eq!(waiter.await.unwrap(), Ok(2));
    }
}
