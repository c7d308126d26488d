//! The LDIF source: entries from a file, reloaded when the file changes
//! (checked on every lookup) or on `invalidate()`. Queries use the same
//! filter strings as LDAP, evaluated by [`crate::filter`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use tracing::{info, warn};

use crate::entry::{dn_is_under, normalize_dn, Entry};
use crate::error::DirError;
use crate::filter::Filter;
use crate::ldif::{parse_ldif, LdifLimits};
use crate::password::verify_password;

#[derive(Default)]
struct Loaded {
    entries: Arc<Vec<Entry>>,
    /// (mtime, length) of the file the entries came from.
    stamp: Option<(SystemTime, u64)>,
}

pub(crate) struct LdifSource {
    path: PathBuf,
    base: String,
    password_attribute: String,
    limits: LdifLimits,
    state: Mutex<Loaded>,
}

impl LdifSource {
    /// Loads the file once; a missing or broken file is an error at startup.
    pub(crate) fn open(
        path: &Path,
        base: &str,
        password_attribute: &str,
        limits: LdifLimits,
    ) -> Result<Self, DirError> {
        let src = LdifSource {
            path: path.to_path_buf(),
            base: base.to_string(),
            password_attribute: if password_attribute.is_empty() {
                "userPassword".into()
            } else {
                password_attribute.to_string()
            },
            limits,
            state: Mutex::new(Loaded::default()),
        };
        src.reload(true)?;
        Ok(src)
    }

    pub(crate) fn search_base(&self) -> &str {
        &self.base
    }

    fn stamp(&self) -> Result<(SystemTime, u64), DirError> {
        let md = std::fs::metadata(&self.path)
            .map_err(|e| DirError::Ldif(format!("{}: {e}", self.path.display())))?;
        let mtime = md.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        Ok((mtime, md.len()))
    }

    /// Re-reads the file if `force` or its (mtime, size) changed. A file that
    /// became unreadable or invalid keeps the previous entries (logged), so a
    /// half-written file never empties the directory.
    pub(crate) fn reload(&self, force: bool) -> Result<(), DirError> {
        let stamp = self.stamp();
        let had_entries;
        {
            let st = self.state.lock();
            had_entries = st.stamp.is_some();
            if !force {
                if let (Ok(s), Some(old)) = (&stamp, st.stamp) {
                    if *s == old {
                        return Ok(());
                    }
                }
            }
        }
        let result = stamp.and_then(|s| {
            if s.1 > self.limits.max_bytes as u64 {
                return Err(DirError::Ldif(format!(
                    "{}: larger than {} bytes",
                    self.path.display(),
                    self.limits.max_bytes
                )));
            }
            let text = std::fs::read_to_string(&self.path)
                .map_err(|e| DirError::Ldif(format!("{}: {e}", self.path.display())))?;
            let entries = parse_ldif(&text, &self.limits)
                .map_err(|e| DirError::Ldif(format!("{}: {e}", self.path.display())))?;
            Ok((s, entries))
        });
        match result {
            Ok((s, entries)) => {
                info!(path = %self.path.display(), entries = entries.len(), "LDIF directory loaded");
                let mut st = self.state.lock();
                st.entries = Arc::new(entries);
                st.stamp = Some(s);
                Ok(())
            }
            Err(e) if had_entries => {
                warn!(error = %e, "LDIF reload failed; keeping the previous entries");
                // Remember the broken stamp so it is not re-parsed on every lookup.
                if let Ok(s) = self.stamp() {
                    self.state.lock().stamp = Some(s);
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn snapshot(&self) -> Arc<Vec<Entry>> {
        if let Err(e) = self.reload(false) {
            warn!(error = %e, "LDIF check failed");
        }
        self.state.lock().entries.clone()
    }

    pub(crate) fn search(&self, filter: &str) -> Result<Vec<Entry>, DirError> {
        let f = Filter::parse(filter)?;
        let entries = self.snapshot();
        Ok(entries
            .iter()
            .filter(|e| dn_is_under(&e.dn, &self.base) && f.matches(e))
            .cloned()
            .collect())
    }

    /// Checks `password` against the entry's password attribute, like a
    /// simple bind would. Unknown DN and wrong password look the same.
    pub(crate) fn bind(&self, dn: &str, password: &str) -> Result<(), DirError> {
        if dn.is_empty() || password.is_empty() {
            return Err(DirError::InvalidCredentials);
        }
        let entries = self.snapshot();
        let want = normalize_dn(dn);
        let ok = entries
            .iter()
            .filter(|e| normalize_dn(&e.dn) == want)
            .flat_map(|e| e.values(&self.password_attribute))
            .fold(false, |acc, stored| acc | verify_password(stored, password));
        if ok {
            Ok(())
        } else {
            Err(DirError::InvalidCredentials)
        }
    }
}
