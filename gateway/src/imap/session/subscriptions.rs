//! IMAP subscriptions (SUBSCRIBE / LSUB / LIST (SUBSCRIBED)).
//!
//! Kept in the user's store, as KC does, so that they survive gateway
//! restarts and are the same on every gateway host: the store property
//! [`PROP`] holds one mailbox name (UTF-8) per line. Names are kept, not
//! folder ids, because IMAP lets a client subscribe to a name that does not
//! exist (yet); RENAME rewrites them. A user who never changed a
//! subscription (no property) sees every mail folder subscribed (as
//! Dovecot's `auto = subscribe`), so LSUB-only clients show the folders at
//! once.
//!
//! The list is read at most once per command (so a session sees another
//! session's changes at its next command) and written whole on each
//! change; two connections of one user changing subscriptions at the same
//! moment keep the last writer's list.

use std::collections::BTreeSet;

use bytes::Bytes;
use kc_store_api::client::{ClientError, Session as StoreSession, MAX_PROP};

/// The store property holding the list.
pub(crate) const PROP: &str = "imap.subscriptions";

/// A user's subscribed mailbox names.
#[derive(Debug)]
pub(crate) struct Subscriptions {
    pub names: BTreeSet<String>,
    /// No list in the store: the user never changed a subscription.
    pub fresh: bool,
}

/// The names of a stored list (empty lines skipped; invalid UTF-8 replaced,
/// since a corrupt value must not lock the user out of LSUB).
fn decode(value: &[u8]) -> BTreeSet<String> {
    String::from_utf8_lossy(value)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The stored form of `names`: one per line. A name with a line break
/// cannot round-trip and is left out (the parser refuses such names).
fn encode(names: &BTreeSet<String>) -> Vec<u8> {
    let mut text = String::new();
    for n in names.iter().filter(|n| !n.contains(['\r', '\n'])) {
        text.push_str(n);
        text.push('\n');
    }
    text.into_bytes()
}

impl Subscriptions {
    /// Loads the user's list from the store; no property is the
    /// never-changed (`fresh`) default.
    pub async fn load(store: &StoreSession) -> Result<Subscriptions, ClientError> {
        Ok(match store.prop(PROP).await? {
            Some(v) => Subscriptions {
                names: decode(&v),
                fresh: false,
            },
            None => Subscriptions {
                names: BTreeSet::new(),
                fresh: true,
            },
        })
    }

    /// Writes the list to the store; from then on the list is the user's
    /// own, no longer the all-folders default.
    pub async fn save(&mut self, store: &StoreSession) -> Result<(), ClientError> {
        let value = encode(&self.names);
        if value.len() > MAX_PROP {
            return Err(ClientError::TooLarge);
        }
        store.set_prop(PROP, Some(Bytes::from(value))).await?;
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

    #[test]
    fn encode_decode_and_rename() {
        let mut s = Subscriptions {
            names: BTreeSet::new(),
            fresh: true,
        };
        s.names.insert("a".into());
        s.names.insert("a/b".into());
        s.names.insert("ab".into());
        s.names.insert("caf\u{e9}".into());
        s.names.insert("bad\nname".into());
        assert!(s.rename("a", "z", '/'));
        assert!(!s.rename("nothing", "x", '/'));
        let v = encode(&s.names);
        assert_eq!(v, "ab\ncaf\u{e9}\nz\nz/b\n".as_bytes());
        let back: Vec<String> = decode(&v).into_iter().collect();
        assert_eq!(back, vec!["ab", "caf\u{e9}", "z", "z/b"]);
        assert!(decode(b"").is_empty());
        assert_eq!(decode(b"x\r\n\r\ny\xff\n").len(), 2);
    }
}
