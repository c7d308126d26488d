//! `\Recent` (RFC 3501 §2.3.2): a message is recent in exactly one
//! session, the first that selects its mailbox read-write (or already has it
//! selected) after the message arrived.
//!
//! Each mailbox has a watermark, the highest UID some session has claimed,
//! kept in the user's store as the property `imap.recent.<folder id>` so
//! that it survives gateway restarts. A claim reads the watermark, moves it
//! to the highest UID the claiming session sees, and hands that session the
//! UIDs in between. Claims on one mailbox are serialised by a lock of this
//! process: the edge routes every session of a user to the gateway beside
//! the user's home node, so all of them claim here. A mailbox never claimed
//! (no property) has every message recent for the first session, as a
//! server opening a mailbox for the first time reports it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use kc_store_api::client::{ClientError, Session as StoreSession};

/// The property holding a mailbox's watermark.
pub(crate) fn prop_name(folder: i64) -> String {
    format!("imap.recent.{folder}")
}

/// One lock per mailbox being claimed right now (entries go when unused).
fn locks() -> &'static Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>> {
    static LOCKS: OnceLock<Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    LOCKS.get_or_init(Default::default)
}

fn lock_for(folder: i64) -> Arc<tokio::sync::Mutex<()>> {
    let mut map = locks().lock().unwrap_or_else(|e| e.into_inner());
    map.entry(folder).or_default().clone()
}

fn release(folder: i64) {
    let mut map = locks().lock().unwrap_or_else(|e| e.into_inner());
    // Only the map holds it: nobody else waits for or holds this lock.
    if map.get(&folder).is_some_and(|l| Arc::strong_count(l) == 1) {
        map.remove(&folder);
    }
}

/// The watermark in a stored value (unreadable counts as none).
fn parse(value: Option<&[u8]>) -> u32 {
    value
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Claims the messages of `folder` up to UID `up_to` that no session has
/// claimed yet; returns the previous watermark: the UIDs above it (up to
/// `up_to`) are recent in the calling session only.
pub(crate) async fn claim(
    store: &StoreSession,
    folder: i64,
    up_to: u32,
) -> Result<u32, ClientError> {
    let lock = lock_for(folder);
    let result = {
        let _held = lock.lock().await;
        claim_locked(store, folder, up_to).await
    };
    drop(lock);
    release(folder);
    result
}

async fn claim_locked(store: &StoreSession, folder: i64, up_to: u32) -> Result<u32, ClientError> {
    let name = prop_name(folder);
    let before = parse(store.prop(&name).await?.as_deref());
    if up_to > before {
        store
            .set_prop(&name, Some(Bytes::from(up_to.to_string())))
            .await?;
    }
    Ok(before)
}

/// The watermark of `folder` without claiming (STATUS RECENT counts the
/// messages above it).
pub(crate) async fn watermark(store: &StoreSession, folder: i64) -> Result<u32, ClientError> {
    Ok(parse(store.prop(&prop_name(folder)).await?.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermarks_parse_leniently() {
        assert_eq!(parse(None), 0);
        assert_eq!(parse(Some(b"42")), 42);
        assert_eq!(parse(Some(b" 7\n")), 7);
        assert_eq!(parse(Some(b"junk")), 0);
        assert_eq!(prop_name(12), "imap.recent.12");
    }

    #[test]
    fn unused_locks_are_dropped() {
        let l = lock_for(-5);
        assert!(locks().lock().unwrap().contains_key(&-5));
        release(-5);
        assert!(locks().lock().unwrap().contains_key(&-5), "still held");
        drop(l);
        release(-5);
        assert!(!locks().lock().unwrap().contains_key(&-5));
    }
}
