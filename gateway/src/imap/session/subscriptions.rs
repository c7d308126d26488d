//! IMAP subscriptions (SUBSCRIBE / LSUB / LIST (SUBSCRIBED)).
//!
//! The store API has no place for per-user IMAP state, so this is a stopgap:
//! one file per user under the gateway's `tmp_path`, one mailbox name
//! (UTF-8) per line, replaced atomically on change. Names are kept, not
//! folder ids, because IMAP lets a client subscribe to a name that does not
//! exist (yet); RENAME rewrites them. A user who never changed a
//! subscription sees every mail folder subscribed (as Dovecot's
//! `auto = subscribe`), so LSUB-only clients show the folders at once.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

/// Largest subscription file read (a bound on hostile or corrupt state).
const MAX_FILE: u64 = 4 * 1024 * 1024;

/// A user's subscribed mailbox names.
#[derive(Debug)]
pub(crate) struct Subscriptions {
    path: PathBuf,
    pub names: BTreeSet<String>,
    /// No file existed: the user never changed a subscription.
    pub fresh: bool,
}

fn file_name(login: &str) -> String {
    // Hex keeps any login (case, slashes, dots) a safe single file name.
    let hex: String = login
        .to_lowercase()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hex}.subscriptions")
}

impl Subscriptions {
    /// Loads the user's list; a missing file is an empty list.
    pub async fn load(dir: &Path, login: &str) -> io::Result<Subscriptions> {
        let dir = dir.join("kc-gateway-imap");
        let path = dir.join(file_name(login));
        let mut names = BTreeSet::new();
        let mut fresh = false;
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.len() <= MAX_FILE => {
                let text = tokio::fs::read(&path).await?;
                for line in String::from_utf8_lossy(&text).lines() {
                    if !line.is_empty() {
                        names.insert(line.to_string());
                    }
                }
            }
            Ok(_) => {
                tracing::warn!(path = %path.display(), "subscription file too large; ignored");
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => fresh = true,
            Err(e) => return Err(e),
        }
        Ok(Subscriptions { path, names, fresh })
    }

    /// Writes the list (temporary file, then rename); from then on the
    /// list is the user's own, no longer the all-folders default.
    pub async fn save(&mut self) -> io::Result<()> {
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let mut text = String::new();
        for n in &self.names {
            // A name with a line break cannot round-trip; it was refused
            // by the parser anyway (mailbox names are 7-bit printable).
            if !n.contains(['\r', '\n']) {
                text.push_str(n);
                text.push('\n');
            }
        }
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        tokio::fs::write(&tmp, text.as_bytes()).await?;
        tokio::fs::rename(&tmp, &self.path).await?;
        self.fresh = false;
        Ok(())
    }

    /// Renames `from` and everything below it.
    pub fn rename(&mut self, from: &str, to: &str, delim: char) -> bool {
        let below = format!("{from}{delim}");
        let hits: Vec<String> = self
            .names
            .iter()
            .filter(|n| *n == from || n.starts_with(&below))
            .cloned()
            .collect();
        for old in &hits {
            self.names.remove(old);
            self.names.insert(format!("{to}{}", &old[from.len()..]));
        }
        !hits.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_rename() {
        let dir = std::env::temp_dir().join(format!("kc-subs-test-{}", std::process::id()));
        let mut s = Subscriptions::load(&dir, "Alice").await.unwrap();
        assert!(s.names.is_empty() && s.fresh);
        s.names.insert("a".into());
        s.names.insert("a/b".into());
        s.names.insert("ab".into());
        assert!(s.rename("a", "z", '/'));
        s.save().await.unwrap();
        let t = Subscriptions::load(&dir, "alice").await.unwrap();
        assert!(!t.fresh);
        let v: Vec<&str> = t.names.iter().map(String::as_str).collect();
        assert_eq!(v, vec!["ab", "z", "z/b"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
