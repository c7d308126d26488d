//! Mailbox items (mail, calendar, contacts, tasks): their types and rows,
//! and the item writes (append, flags, copy, move, delete, expunge,
//! groupware objects) as SQL over one SQLite connection. `sqlite.rs` wraps
//! each call in the connection mutex; every write runs in one transaction
//! that records its change numbers (`changes.rs`) before committing, and
//! every write that stores content is admitted against the hard quota
//! inside that transaction first (`quota.rs`).
//!
//! Item bodies are BLOBs in the `items` table: the row, its UID, the store
//! size and the change record commit atomically with one fsync
//! (`synchronous = FULL`). With an attachment directory, large MIME part
//! bodies of mail are the exception (`segments.rs`): they are written and
//! fsynced as content-addressed files after the quota admission and *before*
//! the commit that references them, so an acknowledged append is never
//! missing a part and a refused one writes no file; a crash in between
//! leaves only an unreferenced file, which `gc.rs` and the sweep at open
//! remove. The body is never read by the listing queries (`reads.rs`).

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use sha2::{Digest, Sha256};

use super::attachments::AttachmentDir;
use super::changes::record;
use super::folders::live_folder;
use super::quota::{self, add_size};
use super::segments::{self, Segment};
use super::{Quota, Result, StorageError};

/// The `\Deleted` flag that `expunge` acts on (IMAP semantics).
pub const DELETED_FLAG: &str = "\\Deleted";

/// What an item holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// An RFC 5322 message, kept byte-exact.
    Mail,
    /// iCalendar (VEVENT).
    Calendar,
    /// vCard.
    Contact,
    /// iCalendar (VTODO).
    Task,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Mail => "mail",
            ItemKind::Calendar => "calendar",
            ItemKind::Contact => "contact",
            ItemKind::Task => "task",
        }
    }

    pub fn parse(s: &str) -> Option<ItemKind> {
        Some(match s {
            "mail" => ItemKind::Mail,
            "calendar" => ItemKind::Calendar,
            "contact" => ItemKind::Contact,
            "task" => ItemKind::Task,
            _ => return None,
        })
    }
}

/// Indexed envelope fields of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `Date:` as a Unix timestamp.
    pub date: Option<i64>,
    /// The first `From:` address.
    pub from: String,
    /// All `To:` addresses, comma-separated.
    pub to: String,
    pub subject: String,
    pub message_id: String,
}

/// Read the envelope fields from a message's header (the body is not parsed).
pub fn envelope(raw: &[u8]) -> Envelope {
    let Some(m) = mail_parser::MessageParser::default().parse_headers(raw) else {
        return Envelope::default();
    };
    let addr = |a: Option<&mail_parser::Address<'_>>| -> Vec<String> {
        a.map(|a| {
            a.iter()
                .filter_map(|x| x.address().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
    };
    Envelope {
        date: m.date().map(|d| d.to_timestamp()),
        from: addr(m.from()).into_iter().next().unwrap_or_default(),
        to: addr(m.to()).join(", "),
        subject: m.subject().unwrap_or_default().to_owned(),
        message_id: m.message_id().unwrap_or_default().to_owned(),
    }
}

/// One item as listed (everything but the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub folder_id: i64,
    pub uid: u32,
    pub kind: ItemKind,
    /// The iCalendar/vCard UID (groupware items only).
    pub obj_uid: Option<String>,
    /// SHA-256 of the body, hex.
    pub etag: String,
    pub size: i64,
    /// Sorted, deduplicated.
    pub flags: Vec<String>,
    pub internal_date: i64,
    pub envelope: Envelope,
    pub modseq: i64,
}

/// A new item.
#[derive(Debug, Clone)]
pub struct NewItem<'a> {
    pub kind: ItemKind,
    pub obj_uid: Option<&'a str>,
    pub body: &'a [u8],
    pub flags: &'a [String],
    pub internal_date: i64,
}

/// The result of an append or a groupware write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub id: i64,
    pub uid: u32,
    pub modseq: i64,
}

/// How `set_flags` combines the given flags with an item's: the store
/// API's type, so the wire names and the storage meaning are one enum.
pub use kc_store_api::FlagOp;

pub(super) const ITEM_COLS: &str = "id, folder_id, uid, kind, obj_uid, etag, size, flags, \
     internal_date, date, from_addr, to_addr, subject, message_id, modseq";

pub(super) fn item_row(r: &Row<'_>) -> rusqlite::Result<Item> {
    let kind: String = r.get(3)?;
    let flags: String = r.get(7)?;
    Ok(Item {
        id: r.get(0)?,
        folder_id: r.get(1)?,
        uid: r.get::<_, i64>(2)? as u32,
        kind: ItemKind::parse(&kind).unwrap_or(ItemKind::Mail),
        obj_uid: r.get(4)?,
        etag: r.get(5)?,
        size: r.get(6)?,
        flags: flags.split_whitespace().map(str::to_owned).collect(),
        internal_date: r.get(8)?,
        envelope: Envelope {
            date: r.get(9)?,
            from: r.get(10)?,
            to: r.get(11)?,
            subject: r.get(12)?,
            message_id: r.get(13)?,
        },
        modseq: r.get(14)?,
    })
}

fn normalize_flags(flags: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = flags
        .into_iter()
        .filter(|f| !f.is_empty() && !f.chars().any(char::is_whitespace))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn next_uid(tx: &Transaction<'_>, folder: i64) -> Result<u32> {
    let uid: i64 = tx.query_row(
        "UPDATE folders SET uid_next = uid_next + 1 WHERE id = ?1 RETURNING uid_next - 1",
        params![folder],
        |r| r.get(0),
    )?;
    u32::try_from(uid).map_err(|_| StorageError::Collision)
}

pub(super) fn etag_of(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Start a write transaction that takes the database's write lock at once,
/// so the quota admission and the write see the same store size.
fn begin(c: &mut Connection) -> Result<Transaction<'_>> {
    Ok(c.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

/// Append an item; `OverQuota` when the store's hard quota refuses it.
/// `defaults` are server.cfg's limits for owners without an override.
pub fn append(
    c: &mut Connection,
    att: Option<&AttachmentDir>,
    folder_id: i64,
    n: &NewItem<'_>,
    defaults: &Quota,
    now: i64,
) -> Result<Appended> {
    match append_many(c, att, &[folder_id], n, defaults, now)?.pop() {
        Some(Some(a)) => Ok(a),
        Some(None) => Err(StorageError::OverQuota),
        None => Err(StorageError::NotFound),
    }
}

/// Append `n` to every folder of `folders` in one transaction: each folder is
/// admitted against its store's hard quota first (`None` in its slot when
/// refused), then the message is split and its attachment files written
/// once (none when every folder was refused), and one commit (one fsync)
/// covers every copy. Any other error stores nothing.
pub fn append_many(
    c: &mut Connection,
    att: Option<&AttachmentDir>,
    folders: &[i64],
    n: &NewItem<'_>,
    defaults: &Quota,
    now: i64,
) -> Result<Vec<Option<Appended>>> {
    let tx = begin(c)?;
    let size = i64::try_from(n.body.len()).unwrap_or(i64::MAX);
    // What the folders admitted so far add to each store.
    let mut adding: HashMap<i64, i64> = HashMap::new();
    let mut admitted = Vec::with_capacity(folders.len());
    for &f in folders {
        let store = live_folder(&tx, f)?.store_id;
        let before = adding.get(&store).copied().unwrap_or(0);
        let total = before.saturating_add(size);
        match quota::admit(&tx, store, total, defaults) {
            Ok(()) => {
                adding.insert(store, total);
                admitted.push(true);
            }
            Err(StorageError::OverQuota) => admitted.push(false),
            Err(e) => return Err(e),
        }
    }
    let ranges = match att {
        Some(_) if n.kind == ItemKind::Mail && admitted.contains(&true) => segments::split(n.body),
        _ => Vec::new(),
    };
    let mut segs = Vec::with_capacity(ranges.len());
    if let Some(att) = att {
        for r in &ranges {
            let part = n.body.get(r.clone()).unwrap_or_default();
            segs.push(Segment {
                pos: r.start as u64,
                len: part.len() as u64,
                hash: att.put(part)?,
            });
        }
    }
    let stored = if segs.is_empty() {
        std::borrow::Cow::Borrowed(n.body)
    } else {
        std::borrow::Cow::Owned(segments::skeleton(n.body, &ranges))
    };
    let mut out = Vec::with_capacity(folders.len());
    for (&f, ok) in folders.iter().zip(admitted) {
        if !ok {
            out.push(None);
            continue;
        }
        let a = insert(&tx, f, n, &stored, now)?;
        add_segments(&tx, a.id, &segs)?;
        out.push(Some(a));
    }
    tx.commit()?;
    Ok(out)
}

fn add_segments(tx: &Transaction<'_>, item: i64, segs: &[Segment]) -> Result<()> {
    for (seq, s) in segs.iter().enumerate() {
        tx.execute(
            "INSERT OR IGNORE INTO attachments (hash, size, refcount) VALUES (?1, ?2, 0)",
            params![s.hash, s.len as i64],
        )?;
        tx.execute(
            "INSERT INTO item_segments (item_id, seq, pos, len, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![item, seq as i64, s.pos as i64, s.len as i64, s.hash],
        )?;
    }
    Ok(())
}

/// Insert the row for `n`, whose body is stored as `stored` (the whole body,
/// or its skeleton when segments follow).
fn insert(
    tx: &Transaction<'_>,
    folder_id: i64,
    n: &NewItem<'_>,
    stored: &[u8],
    now: i64,
) -> Result<Appended> {
    let f = live_folder(tx, folder_id)?;
    let uid = next_uid(tx, folder_id)?;
    let env = if n.kind == ItemKind::Mail {
        envelope(n.body)
    } else {
        Envelope::default()
    };
    let flags = normalize_flags(n.flags.iter().cloned()).join(" ");
    let size = n.body.len() as i64;
    tx.execute(
        "INSERT INTO items (store_id, folder_id, uid, kind, obj_uid, etag, size, flags, \
         internal_date, date, from_addr, to_addr, subject, message_id, modseq, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0, ?15)",
        params![
            f.store_id,
            folder_id,
            uid,
            n.kind.as_str(),
            n.obj_uid,
            etag_of(n.body),
            size,
            flags,
            n.internal_date,
            env.date,
            env.from,
            env.to,
            env.subject,
            env.message_id,
            stored
        ],
    )?;
    let id = tx.last_insert_rowid();
    let modseq = record(
        tx,
        f.store_id,
        "item",
        id,
        Some(folder_id),
        Some(uid),
        "new",
        now,
    )?;
    tx.execute(
        "UPDATE items SET modseq = ?2 WHERE id = ?1",
        params![id, modseq],
    )?;
    add_size(tx, f.store_id, size, now)?;
    Ok(Appended { id, uid, modseq })
}

fn live_items(tx: &Transaction<'_>, folder_id: i64, uids: &[u32]) -> Result<Vec<Item>> {
    let mut st = tx.prepare_cached(&format!(
        "SELECT {ITEM_COLS} FROM items WHERE folder_id = ?1 AND uid = ?2 AND deleted_at IS NULL"
    ))?;
    let mut out = Vec::with_capacity(uids.len());
    for &u in uids {
        if let Some(it) = st.query_row(params![folder_id, u], item_row).optional()? {
            out.push(it);
        }
    }
    Ok(out)
}

/// Change the flags of items; unknown UIDs are skipped. Returns `(uid, modseq)`
/// of every item whose flags changed.
pub fn set_flags(
    c: &mut Connection,
    folder_id: i64,
    uids: &[u32],
    op: FlagOp,
    flags: &[String],
    now: i64,
) -> Result<Vec<(u32, i64)>> {
    let tx = c.transaction()?;
    let f = live_folder(&tx, folder_id)?;
    let mut out = Vec::new();
    for it in live_items(&tx, folder_id, uids)? {
        let new = match op {
            FlagOp::Replace => normalize_flags(flags.iter().cloned()),
            FlagOp::Add => normalize_flags(it.flags.iter().chain(flags).cloned()),
            FlagOp::Remove => {
                normalize_flags(it.flags.iter().filter(|x| !flags.contains(x)).cloned())
            }
        };
        if new == it.flags {
            continue;
        }
        let m = record(
            &tx,
            f.store_id,
            "item",
            it.id,
            Some(folder_id),
            Some(it.uid),
            "flags",
            now,
        )?;
        tx.execute(
            "UPDATE items SET flags = ?2, modseq = ?3 WHERE id = ?1",
            params![it.id, new.join(" "), m],
        )?;
        out.push((it.uid, m));
    }
    tx.commit()?;
    Ok(out)
}

/// Copy items into `dest` (new UIDs there). Returns `(source uid, new uid)`.
/// `OverQuota` (nothing copied) when the destination store's hard quota
/// refuses what the copies add.
pub fn copy(
    c: &mut Connection,
    folder_id: i64,
    uids: &[u32],
    dest: i64,
    defaults: &Quota,
    now: i64,
) -> Result<Vec<(u32, u32)>> {
    let tx = begin(c)?;
    live_folder(&tx, folder_id)?;
    let d = live_folder(&tx, dest)?;
    let items = live_items(&tx, folder_id, uids)?;
    if !items.is_empty() {
        let added = items.iter().fold(0i64, |n, it| n.saturating_add(it.size));
        quota::admit(&tx, d.store_id, added, defaults)?;
    }
    let mut out = Vec::new();
    for it in items {
        let uid = next_uid(&tx, dest)?;
        tx.execute(
            "INSERT INTO items (store_id, folder_id, uid, kind, obj_uid, etag, size, flags, \
             internal_date, date, from_addr, to_addr, subject, message_id, modseq, body) \
             SELECT ?2, ?3, ?4, kind, obj_uid, etag, size, flags, internal_date, date, from_addr, \
             to_addr, subject, message_id, 0, body FROM items WHERE id = ?1",
            params![it.id, d.store_id, dest, uid],
        )?;
        let id = tx.last_insert_rowid();
        // The copy shares the attachment files: more references, no new files.
        tx.execute(
            "INSERT INTO item_segments (item_id, seq, pos, len, hash) \
             SELECT ?2, seq, pos, len, hash FROM item_segments WHERE item_id = ?1",
            params![it.id, id],
        )?;
        let m = record(
            &tx,
            d.store_id,
            "item",
            id,
            Some(dest),
            Some(uid),
            "new",
            now,
        )?;
        tx.execute("UPDATE items SET modseq = ?2 WHERE id = ?1", params![id, m])?;
        add_size(&tx, d.store_id, it.size, now)?;
        out.push((it.uid, uid));
    }
    tx.commit()?;
    Ok(out)
}

/// Move items into `dest` (new UIDs there; a tombstone for the old location).
/// Returns `(source uid, new uid)`. A move inside a store adds nothing, so it
/// is refused (`OverQuota`, nothing moved) only when the store is already
/// above its hard level.
pub fn move_items(
    c: &mut Connection,
    folder_id: i64,
    uids: &[u32],
    dest: i64,
    defaults: &Quota,
    now: i64,
) -> Result<Vec<(u32, u32)>> {
    let tx = begin(c)?;
    let f = live_folder(&tx, folder_id)?;
    let d = live_folder(&tx, dest)?;
    if f.store_id != d.store_id {
        // Cross-store moves would need size transfer between owners; copy + delete instead.
        return Err(StorageError::NotFound);
    }
    let mut out = Vec::new();
    if dest == folder_id {
        return Ok(out);
    }
    let items = live_items(&tx, folder_id, uids)?;
    if !items.is_empty() {
        quota::admit(&tx, f.store_id, 0, defaults)?;
    }
    for it in items {
        let uid = next_uid(&tx, dest)?;
        record(
            &tx,
            f.store_id,
            "item",
            it.id,
            Some(folder_id),
            Some(it.uid),
            "delete",
            now,
        )?;
        let m = record(
            &tx,
            f.store_id,
            "item",
            it.id,
            Some(dest),
            Some(uid),
            "new",
            now,
        )?;
        tx.execute(
            "UPDATE items SET folder_id = ?2, uid = ?3, modseq = ?4 WHERE id = ?1",
            params![it.id, dest, uid, m],
        )?;
        out.push((it.uid, uid));
    }
    tx.commit()?;
    Ok(out)
}

pub(super) fn soft_delete_item(
    tx: &Transaction<'_>,
    store: i64,
    it: &Item,
    now: i64,
) -> Result<i64> {
    let m = record(
        tx,
        store,
        "item",
        it.id,
        Some(it.folder_id),
        Some(it.uid),
        "delete",
        now,
    )?;
    tx.execute(
        "UPDATE items SET deleted_at = ?2, modseq = ?3 WHERE id = ?1",
        params![it.id, now, m],
    )?;
    Ok(m)
}

/// Soft-delete items (kept until `purge_softdeleted`). Returns the deleted UIDs.
pub fn delete(c: &mut Connection, folder_id: i64, uids: &[u32], now: i64) -> Result<Vec<u32>> {
    let tx = c.transaction()?;
    let f = live_folder(&tx, folder_id)?;
    let mut out = Vec::new();
    for it in live_items(&tx, folder_id, uids)? {
        soft_delete_item(&tx, f.store_id, &it, now)?;
        out.push(it.uid);
    }
    tx.commit()?;
    Ok(out)
}

/// Soft-delete every item of the folder flagged `\Deleted` (IMAP EXPUNGE);
/// with `only`, just those of the given UIDs (UID EXPUNGE).
pub fn expunge(
    c: &mut Connection,
    folder_id: i64,
    only: Option<&[u32]>,
    now: i64,
) -> Result<Vec<u32>> {
    let tx = c.transaction()?;
    let f = live_folder(&tx, folder_id)?;
    let flagged: Vec<Item> = {
        let mut st = tx.prepare(&format!(
            "SELECT {ITEM_COLS} FROM items WHERE folder_id = ?1 AND deleted_at IS NULL \
             AND (' ' || flags || ' ') LIKE '% \\Deleted %' ORDER BY uid"
        ))?;
        let rows = st.query_map(params![folder_id], item_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let mut out = Vec::new();
    let wanted: Option<std::collections::HashSet<u32>> = only.map(|u| u.iter().copied().collect());
    for it in flagged.iter().filter(|it| {
        it.flags.iter().any(|x| x == DELETED_FLAG)
            && wanted.as_ref().is_none_or(|w| w.contains(&it.uid))
    }) {
        soft_delete_item(&tx, f.store_id, it, now)?;
        out.push(it.uid);
    }
    tx.commit()?;
    Ok(out)
}

/// Create or replace a groupware item by its UID. With `if_match`, the current
/// ETag must equal it (`"*"` = must exist); a mismatch is `Collision`.
/// Returns the new state and whether it was created. `OverQuota` (nothing
/// written) when the store's hard quota refuses the size it ends at.
#[allow(clippy::too_many_arguments)]
pub fn put_object(
    c: &mut Connection,
    folder_id: i64,
    kind: ItemKind,
    obj_uid: &str,
    body: &[u8],
    if_match: Option<&str>,
    defaults: &Quota,
    now: i64,
) -> Result<(Appended, String, bool)> {
    let tx = begin(c)?;
    let f = live_folder(&tx, folder_id)?;
    let current: Option<Item> = tx
        .query_row(
            &format!(
                "SELECT {ITEM_COLS} FROM items WHERE folder_id = ?1 AND obj_uid = ?2 AND deleted_at IS NULL"
            ),
            params![folder_id, obj_uid],
            item_row,
        )
        .optional()?;
    if let Some(want) = if_match {
        match &current {
            Some(it) if want == "*" || want == it.etag => {}
            _ => return Err(StorageError::Collision),
        }
    }
    let size = i64::try_from(body.len()).unwrap_or(i64::MAX);
    let added = size.saturating_sub(current.as_ref().map_or(0, |it| it.size));
    quota::admit(&tx, f.store_id, added, defaults)?;
    let etag = etag_of(body);
    let (a, created) = match current {
        None => {
            let a = insert(
                &tx,
                folder_id,
                &NewItem {
                    kind,
                    obj_uid: Some(obj_uid),
                    body,
                    flags: &[],
                    internal_date: now,
                },
                body,
                now,
            )?;
            (a, true)
        }
        Some(it) => {
            let m = record(
                &tx,
                f.store_id,
                "item",
                it.id,
                Some(folder_id),
                Some(it.uid),
                "modify",
                now,
            )?;
            // The new body is whole; drop any segments of the old one.
            tx.execute(
                "DELETE FROM item_segments WHERE item_id = ?1",
                params![it.id],
            )?;
            tx.execute(
                "UPDATE items SET body = ?2, etag = ?3, size = ?4, modseq = ?5 WHERE id = ?1",
                params![it.id, body, etag, body.len() as i64, m],
            )?;
            add_size(&tx, f.store_id, body.len() as i64 - it.size, now)?;
            (
                Appended {
                    id: it.id,
                    uid: it.uid,
                    modseq: m,
                },
                false,
            )
        }
    };
    tx.commit()?;
    Ok((a, etag, created))
}

/// Soft-delete a groupware item by its UID, honouring `if_match` as `put_object`.
pub fn delete_object(
    c: &mut Connection,
    folder_id: i64,
    obj_uid: &str,
    if_match: Option<&str>,
    now: i64,
) -> Result<i64> {
    let tx = c.transaction()?;
    let f = live_folder(&tx, folder_id)?;
    let it: Item = tx
        .query_row(
            &format!(
                "SELECT {ITEM_COLS} FROM items WHERE folder_id = ?1 AND obj_uid = ?2 AND deleted_at IS NULL"
            ),
            params![folder_id, obj_uid],
            item_row,
        )
        .optional()?
        .ok_or(StorageError::NotFound)?;
    if let Some(want) = if_match {
        if want != "*" && want != it.etag {
            return Err(StorageError::Collision);
        }
    }
    let m = soft_delete_item(&tx, f.store_id, &it, now)?;
    tx.commit()?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nFrom: \"A\" <a@example.org>\r\n\
To: b@example.org, c@example.org\r\nSubject: =?utf-8?q?h=C3=A9llo?=\r\n\
Message-ID: <m1@example.org>\r\n\r\nbody\r\n";

    #[test]
    fn envelope_fields() {
        let e = envelope(MSG);
        assert_eq!(e.from, "a@example.org");
        assert_eq!(e.to, "b@example.org, c@example.org");
        assert_eq!(e.subject, "héllo");
        assert_eq!(e.message_id, "m1@example.org");
        assert!(e.date.is_some());
        assert_eq!(envelope(b"garbage"), Envelope::default());
    }
}
