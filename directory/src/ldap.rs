//! The LDAP source: URI failover, StartTLS/ldaps, a bounded pool of bound
//! connections that heals after a server restart, paged subtree searches.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use parking_lot::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit};
use tracing::{debug, warn};

use crate::entry::Entry;
use crate::error::DirError;
use crate::ldif::to_hex;

/// Connection settings from ldap.cfg.
#[derive(Clone)]
pub struct LdapSettings {
    /// `ldap_uri`, tried in order; the one that last worked is tried first.
    pub uris: Vec<String>,
    /// `ldap_starttls` (ignored for `ldaps://` URIs).
    pub starttls: bool,
    /// `ldap_bind_user`; empty binds anonymously.
    pub bind_dn: String,
    /// `ldap_bind_passwd`.
    pub bind_password: String,
    /// `ldap_search_base`.
    pub search_base: String,
    /// `ldap_network_timeout`: per connect attempt and per operation.
    pub network_timeout: Duration,
    /// `ldap_page_size`; 0 disables the paged-results control.
    pub page_size: u32,
    /// Most connections open at once, for searches and for user binds each.
    pub pool_size: usize,
    /// Most entries one search may return (bounds memory).
    pub max_entries: usize,
    /// TLS client configuration (CA roots) for ldaps and StartTLS; `None`
    /// uses the system roots.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapSettings")
            .field("uris", &self.uris)
            .field("starttls", &self.starttls)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password", &"********")
            .field("search_base", &self.search_base)
            .field("network_timeout", &self.network_timeout)
            .field("page_size", &self.page_size)
            .field("pool_size", &self.pool_size)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl LdapSettings {
    /// Settings with KC's code defaults for everything but the URIs.
    pub fn new(uris: Vec<String>) -> Self {
        LdapSettings {
            uris,
            starttls: false,
            bind_dn: String::new(),
            bind_password: String::new(),
            search_base: String::new(),
            network_timeout: Duration::from_secs(30),
            page_size: 1000,
            pool_size: 8,
            max_entries: 1_000_000,
            tls: None,
        }
    }
}

/// A bounded set of connections. Connections are only returned to the idle
/// list after an operation completed normally; anything else drops them.
struct Pool {
    idle: Mutex<Vec<Ldap>>,
    permits: Semaphore,
    /// Service connections are bound as `ldap_bind_user`; auth connections
    /// are re-bound as each user.
    service: bool,
}

struct Pooled<'a> {
    ldap: Option<Ldap>,
    pool: &'a Pool,
    _permit: SemaphorePermit<'a>,
}

impl Pooled<'_> {
    fn handle(&mut self) -> Result<&mut Ldap, DirError> {
        self.ldap
            .as_mut()
            .ok_or_else(|| DirError::Unavailable("connection already released".into()))
    }

    fn release(mut self) {
        if let Some(l) = self.ldap.take() {
            self.pool.idle.lock().push(l);
        }
    }
}

enum OpError {
    /// The connection is unusable (I/O, timeout, closed); retry on a new one.
    Connection(String),
    /// The server answered with an error result; the connection is fine.
    Result(u32, String),
}

impl From<LdapError> for OpError {
    fn from(e: LdapError) -> Self {
        match e {
            LdapError::LdapResult { result } => OpError::Result(result.rc, result.to_string()),
            other => OpError::Connection(other.to_string()),
        }
    }
}

/// LDAP result codes used below (RFC 4511 appendix A).
const RC_NO_SUCH_OBJECT: u32 = 32;
const RC_INVALID_CREDENTIALS: u32 = 49;

pub(crate) struct LdapSource {
    s: LdapSettings,
    service: Pool,
    auth: Pool,
    preferred: AtomicUsize,
}

impl LdapSource {
    pub(crate) fn new(s: LdapSettings) -> Result<Self, DirError> {
        if s.uris.is_empty() {
            return Err(DirError::Config("ldap_uri is empty".into()));
        }
        let size = s.pool_size.max(1);
        let pool = |service| Pool {
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size),
            service,
        };
        Ok(LdapSource {
            service: pool(true),
            auth: pool(false),
            preferred: AtomicUsize::new(0),
            s,
        })
    }

    pub(crate) fn search_base(&self) -> &str {
        &self.s.search_base
    }

    /// Opens a connection, trying each URI once starting with the one that
    /// worked last. A URI that does not answer within the network timeout
    /// (connect, TLS handshake and service bind together) is skipped.
    async fn connect(&self, service: bool) -> Result<Ldap, DirError> {
        let n = self.s.uris.len();
        let start = self.preferred.load(Ordering::Relaxed) % n;
        let mut failures = Vec::new();
        for i in 0..n {
            let idx = (start + i) % n;
            let uri = &self.s.uris[idx];
            match tokio::time::timeout(self.s.network_timeout, self.connect_one(uri, service)).await
            {
                Ok(Ok(l)) => {
                    if idx != start {
                        warn!(uri = %uri, "LDAP failover: now using this server");
                    }
                    self.preferred.store(idx, Ordering::Relaxed);
                    return Ok(l);
                }
                Ok(Err(e)) => {
                    warn!(uri = %uri, error = %e, "LDAP server failed");
                    failures.push(format!("{uri}: {e}"));
                }
                Err(_) => {
                    warn!(uri = %uri, timeout = ?self.s.network_timeout, "LDAP server did not answer");
                    failures.push(format!(
                        "{uri}: no answer within {:?}",
                        self.s.network_timeout
                    ));
                }
            }
        }
        Err(DirError::Unavailable(format!(
            "no LDAP server usable ({})",
            failures.join("; ")
        )))
    }

    async fn connect_one(&self, uri: &str, service: bool) -> Result<Ldap, String> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.s.network_timeout)
            .set_starttls(self.s.starttls);
        if let Some(cfg) = &self.s.tls {
            settings = settings.set_config(cfg.clone());
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, uri)
            .await
            .map_err(|e| e.to_string())?;
        let uri_owned = uri.to_string();
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                debug!(uri = %uri_owned, error = %e, "LDAP connection ended");
            }
        });
        if service && !self.s.bind_dn.is_empty() {
            ldap.with_timeout(self.s.network_timeout)
                .simple_bind(&self.s.bind_dn, &self.s.bind_password)
                .await
                .and_then(|r| r.success())
                .map_err(|e| format!("bind as ldap_bind_user failed: {e}"))?;
        }
        Ok(ldap)
    }

    async fn get<'a>(&'a self, pool: &'a Pool) -> Result<Pooled<'a>, DirError> {
        let permit = pool
            .permits
            .acquire()
            .await
            .map_err(|_| DirError::Unavailable("connection pool closed".into()))?;
        loop {
            let idle = pool.idle.lock().pop();
            match idle {
                // A closed handle means the server went away (restart): drop it.
                Some(mut l) => {
                    if !l.is_closed() {
                        return Ok(Pooled {
                            ldap: Some(l),
                            pool,
                            _permit: permit,
                        });
                    }
                }
                None => break,
            }
        }
        let l = self.connect(pool.service).await?;
        Ok(Pooled {
            ldap: Some(l),
            pool,
            _permit: permit,
        })
    }

    /// Subtree search under the search base. One retry on a fresh connection
    /// when a pooled connection turns out to be dead.
    pub(crate) async fn search(
        &self,
        filter: &str,
        attrs: &[String],
    ) -> Result<Vec<Entry>, DirError> {
        let mut last = String::new();
        for _ in 0..2 {
            let mut c = self.get(&self.service).await?;
            let r = self.run_search(c.handle()?, filter, attrs).await;
            match r {
                Ok(v) => {
                    c.release();
                    return Ok(v);
                }
                Err(OpError::Result(RC_NO_SUCH_OBJECT, _)) => {
                    c.release();
                    return Ok(Vec::new());
                }
                Err(OpError::Result(rc, msg)) => {
                    c.release();
                    return Err(DirError::Unavailable(format!(
                        "LDAP search failed (rc={rc}): {msg}"
                    )));
                }
                Err(OpError::Connection(e)) => {
                    debug!(error = %e, "dropping broken LDAP connection");
                    last = e;
                }
            }
        }
        Err(DirError::Unavailable(format!("LDAP search failed: {last}")))
    }

    async fn run_search(
        &self,
        l: &mut Ldap,
        filter: &str,
        attrs: &[String],
    ) -> Result<Vec<Entry>, OpError> {
        let mut adapters: Vec<Box<dyn Adapter<String, Vec<String>>>> =
            vec![Box::new(EntriesOnly::new())];
        if self.s.page_size > 0 {
            let size = i32::try_from(self.s.page_size).unwrap_or(i32::MAX);
            adapters.push(Box::new(PagedResults::new(size)));
        }
        let mut attrs = attrs.to_vec();
        if attrs.is_empty() {
            // An empty list asks for every attribute; "1.1" asks for none (RFC 4511).
            attrs.push("1.1".into());
        }
        let mut stream = l
            .with_timeout(self.s.network_timeout)
            .streaming_search_with(adapters, &self.s.search_base, Scope::Subtree, filter, attrs)
            .await?;
        let mut out = Vec::new();
        while let Some(re) = stream.next().await? {
            if out.len() >= self.s.max_entries {
                return Err(OpError::Result(
                    4,
                    format!("more than {} entries", self.s.max_entries),
                ));
            }
            // ldap3 panics on a malformed entry; a broken or hostile server
            // must cost the connection, not the task.
            let se = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                SearchEntry::construct(re)
            }))
            .map_err(|_| OpError::Connection("malformed search entry from server".into()))?;
            out.push(to_entry(se));
        }
        stream.finish().await.success()?;
        Ok(out)
    }

    /// Simple bind as `dn`. Callers have already refused empty passwords.
    pub(crate) async fn bind(&self, dn: &str, password: &str) -> Result<(), DirError> {
        if dn.is_empty() || password.is_empty() {
            return Err(DirError::InvalidCredentials);
        }
        let mut last = String::new();
        for _ in 0..2 {
            let mut c = self.get(&self.auth).await?;
            let t = self.s.network_timeout;
            let r: Result<(), OpError> = async {
                c.handle()
                    .map_err(|e| OpError::Connection(e.to_string()))?
                    .with_timeout(t)
                    .simple_bind(dn, password)
                    .await?
                    .success()?;
                Ok(())
            }
            .await;
            match r {
                Ok(()) => {
                    c.release();
                    return Ok(());
                }
                Err(OpError::Result(RC_INVALID_CREDENTIALS, _)) => {
                    c.release();
                    return Err(DirError::InvalidCredentials);
                }
                Err(OpError::Result(rc, msg)) => {
                    c.release();
                    return Err(DirError::Unavailable(format!(
                        "LDAP bind failed (rc={rc}): {msg}"
                    )));
                }
                Err(OpError::Connection(e)) => last = e,
            }
        }
        Err(DirError::Unavailable(format!("LDAP bind failed: {last}")))
    }
}

fn to_entry(se: SearchEntry) -> Entry {
    let mut attrs: Vec<(String, Vec<String>)> = se.attrs.into_iter().collect();
    for (name, vals) in se.bin_attrs {
        attrs.push((name, vals.iter().map(|v| to_hex(v)).collect()));
    }
    Entry { dn: se.dn, attrs }
}
