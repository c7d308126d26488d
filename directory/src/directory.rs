//! [`Directory`]: the cached lookups every kc service uses.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tracing::{debug, info_span, warn, Instrument};

use crate::cache::{CacheConfig, CacheStats, Counters, TtlCache};
use crate::entry::{dn_is_under, Entry};
use crate::error::{DirError, ObjectKind};
use crate::ldap::{LdapSettings, LdapSource};
use crate::ldif::LdifLimits;
use crate::ldif_source::LdifSource;
use crate::mapping::Mapping;
use crate::model::{Company, Group, Server, User};

/// Where entries come from.
#[derive(Debug, Clone)]
pub enum SourceSettings {
    Ldap(LdapSettings),
    /// `ldap_ldif_file` with an empty `ldap_uri`; searched under `ldap_search_base`.
    Ldif {
        path: PathBuf,
        limits: LdifLimits,
    },
}

/// How `authenticate` checks a password (`ldap_authentication_method`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthMethod {
    /// Simple bind as the user's DN (KC default).
    #[default]
    Bind,
    /// Read `ldap_password_attribute` with the service account and compare
    /// ({SSHA}, {SHA}, plain). The LDIF source always works this way.
    Password,
}

/// Everything needed to build a [`Directory`] (what `from_config` derives from ldap.cfg).
#[derive(Debug, Clone)]
pub struct DirectorySettings {
    pub source: SourceSettings,
    pub mapping: Mapping,
    pub cache: CacheConfig,
    pub auth_method: AuthMethod,
}

enum Source {
    Ldap(LdapSource),
    Ldif(LdifSource),
}

impl Source {
    async fn search(&self, filter: &str, attrs: &[String]) -> Result<Vec<Entry>, DirError> {
        match self {
            Source::Ldap(l) => l.search(filter, attrs).await,
            Source::Ldif(l) => l.search(filter),
        }
    }

    async fn bind(&self, dn: &str, password: &str) -> Result<(), DirError> {
        match self {
            Source::Ldap(l) => l.bind(dn, password).await,
            Source::Ldif(l) => l.bind(dn, password),
        }
    }
}

struct Inner {
    source: Source,
    auth_method: AuthMethod,
    mapping: Mapping,
    counters: Arc<Counters>,
    users: TtlCache<User>,
    /// By email address or alias (LMTP recipients).
    addresses: TtlCache<User>,
    user_list: TtlCache<Vec<User>>,
    groups: TtlCache<Group>,
    servers: TtlCache<Server>,
    server_list: TtlCache<Vec<Server>>,
    companies: TtlCache<Company>,
    company_list: TtlCache<Vec<Company>>,
}

/// A cache in front of an LDAP or LDIF source. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Directory {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("stats", &self.stats())
            .finish()
    }
}

/// Longest name a lookup accepts; longer ones are "not found" without a search.
const MAX_NAME_LEN: usize = 1024;

/// Names that cannot match anything are answered without asking the source.
fn check_name(kind: ObjectKind, name: &str) -> Result<(), DirError> {
    let n = name.trim();
    if n.is_empty() || n.len() > MAX_NAME_LEN {
        return Err(DirError::NotFound {
            kind,
            name: name.chars().take(64).collect(),
        });
    }
    Ok(())
}

/// Cache keys: names compare case-insensitively, as in KC.
fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Directory {
    /// Builds the source (an LDIF file is read now; LDAP connects lazily) and,
    /// when companies are mapped, preloads the company list so that user
    /// lookups need a single search each.
    pub async fn new(settings: DirectorySettings) -> Result<Directory, DirError> {
        let mut mapping = settings.mapping;
        let source = match settings.source {
            SourceSettings::Ldap(mut l) => {
                if l.search_base.is_empty() {
                    l.search_base = mapping.search_base.clone();
                }
                let s = LdapSource::new(l)?;
                mapping.search_base = s.search_base().to_string();
                Source::Ldap(s)
            }
            SourceSettings::Ldif { path, limits } => {
                let s = LdifSource::open(
                    &path,
                    &mapping.search_base,
                    &mapping.password_attribute,
                    limits,
                )?;
                mapping.search_base = s.search_base().to_string();
                Source::Ldif(s)
            }
        };
        let c = settings.cache;
        let counters = Arc::new(Counters::default());
        let dir = Directory {
            inner: Arc::new(Inner {
                source,
                auth_method: settings.auth_method,
                mapping,
                users: TtlCache::new(c.user_ttl, &c, counters.clone()),
                addresses: TtlCache::new(c.user_ttl, &c, counters.clone()),
                user_list: TtlCache::new(c.user_ttl, &c, counters.clone()),
                groups: TtlCache::new(c.user_ttl, &c, counters.clone()),
                servers: TtlCache::new(c.server_ttl, &c, counters.clone()),
                server_list: TtlCache::new(c.server_ttl, &c, counters.clone()),
                companies: TtlCache::new(c.server_ttl, &c, counters.clone()),
                company_list: TtlCache::new(c.server_ttl, &c, counters.clone()),
                counters: counters.clone(),
            }),
        };
        if !dir.inner.mapping.company_type_value.is_empty() {
            if let Err(e) = dir.companies().await {
                warn!(error = %e, "could not preload companies; will retry on first user lookup");
            }
        }
        Ok(dir)
    }

    /// The mapping in use (after ldap.cfg and propmap were applied).
    pub fn mapping(&self) -> &Mapping {
        &self.inner.mapping
    }

    async fn search(&self, filter: &str, attrs: Vec<String>) -> Result<Vec<Entry>, DirError> {
        let inner = &self.inner;
        Counters::bump(&inner.counters.searches);
        let r = inner
            .source
            .search(filter, &attrs)
            .instrument(info_span!("directory_search", filter = %filter))
            .await;
        match &r {
            Ok(v) => debug!(filter = %filter, entries = v.len(), "directory search"),
            Err(e) => {
                Counters::bump(&inner.counters.errors);
                warn!(filter = %filter, error = %e, "directory search failed");
            }
        }
        r
    }

    /// The user whose login name is `login` (case-insensitive; exactly one entry).
    pub async fn user(&self, login: &str) -> Result<User, DirError> {
        check_name(ObjectKind::User, login)?;
        let m = &self.inner.mapping;
        self.inner
            .users
            .get_or_load(&key(login), || async {
                let entries = self
                    .search(&m.user_by_login_filter(login.trim()), self.user_attrs())
                    .await?;
                let e = Mapping::exactly_one(ObjectKind::User, login, entries)?;
                let mut u = m.user_from_entry(&e)?;
                u.company = self.company_of(&e.dn).await?;
                Ok(u)
            })
            .await
    }

    /// The user whose email address or alias is `address`, with one
    /// directory search (cached like [`user`](Directory::user)); LDAP's
    /// matching rules for `mail` make the comparison case-insensitive.
    pub async fn user_by_address(&self, address: &str) -> Result<User, DirError> {
        check_name(ObjectKind::User, address)?;
        let m = &self.inner.mapping;
        self.inner
            .addresses
            .get_or_load(&key(address), || async {
                let entries = self
                    .search(&m.user_by_address_filter(address.trim()), self.user_attrs())
                    .await?;
                let e = Mapping::exactly_one(ObjectKind::User, address, entries)?;
                let mut u = m.user_from_entry(&e)?;
                u.company = self.company_of(&e.dn).await?;
                Ok(u)
            })
            .await
    }

    fn user_attrs(&self) -> Vec<String> {
        self.inner.mapping.user_attributes()
    }

    /// All users (paged search), in directory order.
    pub async fn users(&self) -> Result<Vec<User>, DirError> {
        let m = &self.inner.mapping;
        self.inner
            .user_list
            .get_or_load("*", || async {
                let entries = self.search(&m.user_filter(), self.user_attrs()).await?;
                let mut out = Vec::with_capacity(entries.len());
                for e in &entries {
                    match m.user_from_entry(e) {
                        Ok(mut u) => {
                            u.company = self.company_of(&e.dn).await?;
                            out.push(u);
                        }
                        Err(err) => warn!(error = %err, "skipping user entry"),
                    }
                }
                Ok(out)
            })
            .await
    }

    /// Checks `password` by binding as the user's DN (LDIF: against
    /// `userPassword`). Empty passwords are refused before anything is sent,
    /// since an LDAP simple bind with an empty password is an unauthenticated
    /// bind that succeeds (RFC 4513 §5.1.2). Non-active users cannot log in.
    pub async fn authenticate(&self, login: &str, password: &str) -> Result<User, DirError> {
        if password.is_empty() || login.trim().is_empty() {
            return Err(DirError::InvalidCredentials);
        }
        let user = match self.user(login).await {
            Ok(u) => u,
            Err(DirError::NotFound { .. }) => return Err(DirError::InvalidCredentials),
            Err(e) => return Err(e),
        };
        if user.nonactive {
            debug!(login = %login, "login refused: non-active (shared store) user");
            return Err(DirError::InvalidCredentials);
        }
        let dn = user.dn.clone().ok_or(DirError::InvalidCredentials)?;
        let checked = match (&self.inner.source, self.inner.auth_method) {
            (Source::Ldap(_), AuthMethod::Password) => {
                self.compare_password(login, &dn, password).await
            }
            _ => {
                Counters::bump(&self.inner.counters.searches);
                self.inner.source.bind(&dn, password).await
            }
        };
        match checked {
            Ok(()) => Ok(user),
            Err(DirError::InvalidCredentials) => Err(DirError::InvalidCredentials),
            Err(e) => {
                Counters::bump(&self.inner.counters.errors);
                Err(e)
            }
        }
    }

    /// `ldap_authentication_method = password`: fetch the stored password of
    /// exactly this DN (never cached) and compare locally.
    async fn compare_password(
        &self,
        login: &str,
        dn: &str,
        password: &str,
    ) -> Result<(), DirError> {
        let m = &self.inner.mapping;
        if m.password_attribute.is_empty() {
            return Err(DirError::Config(
                "ldap_authentication_method = password needs ldap_password_attribute".into(),
            ));
        }
        let entries = self
            .search(
                &m.user_by_login_filter(login.trim()),
                vec![m.password_attribute.clone()],
            )
            .await?;
        let ok = entries
            .iter()
            .filter(|e| crate::entry::normalize_dn(&e.dn) == crate::entry::normalize_dn(dn))
            .flat_map(|e| e.values(&m.password_attribute))
            .fold(false, |acc, stored| {
                acc | crate::password::verify_password(stored, password)
            });
        if ok {
            Ok(())
        } else {
            Err(DirError::InvalidCredentials)
        }
    }

    /// A group by name, with its raw member values.
    pub async fn group(&self, name: &str) -> Result<Group, DirError> {
        check_name(ObjectKind::Group, name)?;
        let m = &self.inner.mapping;
        self.inner
            .groups
            .get_or_load(&key(name), || async {
                let entries = self
                    .search(&m.group_by_name_filter(name.trim()), m.group_attributes())
                    .await?;
                let e = Mapping::exactly_one(ObjectKind::Group, name, entries)?;
                m.group_from_entry(&e)
            })
            .await
    }

    /// Server (node) details by name, as KC's getServerDetails.
    pub async fn server(&self, name: &str) -> Result<Server, DirError> {
        check_name(ObjectKind::Server, name)?;
        let m = &self.inner.mapping;
        self.inner
            .servers
            .get_or_load(&key(name), || async {
                let entries = self
                    .search(&m.server_by_name_filter(name.trim()), m.server_attributes())
                    .await?;
                let e = Mapping::exactly_one(ObjectKind::Server, name, entries)?;
                m.server_from_entry(&e, Some(name.trim()))
            })
            .await
    }

    /// Every server entry (the edge's node table). Entries KC would reject
    /// (no address or HTTP port) are skipped with a warning.
    pub async fn servers(&self) -> Result<Vec<Server>, DirError> {
        let m = &self.inner.mapping;
        self.inner
            .server_list
            .get_or_load("*", || async {
                let entries = self
                    .search(&m.server_filter(), m.server_attributes())
                    .await?;
                Ok(entries
                    .iter()
                    .filter_map(|e| match m.server_from_entry(e, None) {
                        Ok(s) => Some(s),
                        Err(err) => {
                            warn!(error = %err, "skipping server entry");
                            None
                        }
                    })
                    .collect())
            })
            .await
    }

    /// The one server flagged `kopanoContainsPublic` (KC allows only one).
    pub async fn public_store_server(&self) -> Result<Server, DirError> {
        let m = &self.inner.mapping;
        self.inner
            .servers
            .get_or_load("\0public", || async {
                let entries = self
                    .search(&m.public_server_filter(), m.server_attributes())
                    .await?;
                let e = Mapping::exactly_one(ObjectKind::Server, "public store", entries)?;
                m.server_from_entry(&e, None)
            })
            .await
    }

    /// A company by name.
    pub async fn company(&self, name: &str) -> Result<Company, DirError> {
        check_name(ObjectKind::Company, name)?;
        let m = &self.inner.mapping;
        self.inner
            .companies
            .get_or_load(&key(name), || async {
                let entries = self
                    .search(
                        &m.company_by_name_filter(name.trim()),
                        m.company_attributes(),
                    )
                    .await?;
                let e = Mapping::exactly_one(ObjectKind::Company, name, entries)?;
                m.company_from_entry(&e)
            })
            .await
    }

    /// All companies; empty when companies are not mapped.
    pub async fn companies(&self) -> Result<Vec<Company>, DirError> {
        let m = &self.inner.mapping;
        if m.company_type_value.is_empty() {
            return Ok(Vec::new());
        }
        self.inner
            .company_list
            .get_or_load("*", || async {
                let entries = self
                    .search(&m.company_filter(), m.company_attributes())
                    .await?;
                Ok(entries
                    .iter()
                    .filter_map(|e| m.company_from_entry(e).ok())
                    .collect())
            })
            .await
    }

    /// The node holding `company`'s store (`ldap_company_server_attribute`).
    pub async fn company_server(&self, company: &str) -> Result<Server, DirError> {
        let c = self.company(company).await?;
        match c.server {
            Some(s) => self.server(&s).await,
            None => Err(DirError::InvalidEntry {
                dn: c.dn.unwrap_or_default(),
                reason: format!(
                    "company has no '{}'",
                    self.inner.mapping.company_server_attribute
                ),
            }),
        }
    }

    /// The user's home server details.
    pub async fn home_server(&self, login: &str) -> Result<Server, DirError> {
        let u = self.user(login).await?;
        match &u.home_server {
            Some(s) => self.server(s).await,
            None => Err(DirError::InvalidEntry {
                dn: u.dn.clone().unwrap_or_default(),
                reason: format!("user has no '{}'", self.inner.mapping.user_server_attribute),
            }),
        }
    }

    /// The company whose entry is the nearest ancestor of `dn`.
    async fn company_of(&self, dn: &str) -> Result<Option<String>, DirError> {
        let companies = self.companies().await?;
        Ok(companies
            .iter()
            .filter(|c| {
                c.dn.as_deref()
                    .is_some_and(|cdn| dn_is_under(dn, cdn) && !cdn.eq_ignore_ascii_case(dn))
            })
            .max_by_key(|c| c.dn.as_ref().map_or(0, String::len))
            .map(|c| c.name.clone()))
    }

    /// Drops every cached answer and re-reads an LDIF file (SIGHUP).
    pub fn invalidate(&self) {
        let i = &self.inner;
        i.users.clear();
        i.addresses.clear();
        i.user_list.clear();
        i.groups.clear();
        i.servers.clear();
        i.server_list.clear();
        i.companies.clear();
        i.company_list.clear();
        if let Source::Ldif(l) = &i.source {
            if let Err(e) = l.reload(true) {
                warn!(error = %e, "LDIF reload on invalidate failed");
            }
        }
    }

    pub fn stats(&self) -> CacheStats {
        let i = &self.inner;
        let c = &i.counters;
        let entries = i.users.len()
            + i.user_list.len()
            + i.groups.len()
            + i.servers.len()
            + i.server_list.len()
            + i.companies.len()
            + i.company_list.len();
        CacheStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            coalesced: c.coalesced.load(Ordering::Relaxed),
            searches: c.searches.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            entries: entries as u64,
        }
    }
}
