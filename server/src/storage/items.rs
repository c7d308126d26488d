//! Mailbox items (mail, calendar, contacts, tasks) and the folder-hierarchy
//! writes, as SQL over one SQLite connection. `sqlite.rs` wraps each call in
//! the connection mutex; every write runs in one transaction that records its
//! change numbers (`changes.rs`) before committing.
//!
//! Item bodies are BLOBs in the `items` table: the row, its UID, the store
//! size and the change record commit atomically with one fsync
//! (`synchronous = FULL`). With an attachment directory, large MIME part
//! bodies of mail are the exception (`segments.rs`): they are written and
//! fsynced as content-addressed files *before* the commit that references
//! them, so an acknowledged append is never missing a part; a crash in
//! between leaves only an unreferenced file, which [`gc_attachments`] and the
//! sweep at open remove. The body is never read by the listing queries.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use sha2::{Digest, Sha256};

use super::attachments::AttachmentDir;
use super::changes::record;
use super::segments::{self, ItemBody, Segment};
use super::{Folder, Result, StorageError};

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

pub(super) fn folder_row(r: &Row<'_>) -> rusqlite::Result<Folder> {
    Ok(Folder {
        id: r.get(0)?,
        store_id: r.get(1)?,
        parent: r.get(2)?,
        name: r.get(3)?,
        container_class: r.get(4)?,
        role: r.get(5)?,
        uid_validity: r.get::<_, i64>(6)? as u32,
        uid_next: r.get::<_, i64>(7)? as u32,
    })
}

pub(super) const FOLDER_COLS: &str =
    "id, store_id, parent_id, name, container_class, role, uid_validity, uid_next";

/// A live (not soft-deleted) folder.
pub fn folder(c: &Connection, id: i64) -> Result<Option<Folder>> {
    Ok(c.query_row(
        &format!("SELECT {FOLDER_COLS} FROM folders WHERE id = ?1 AND deleted = 0"),
        params![id],
        folder_row,
    )
    .optional()?)
}

fn live_folder(tx: &Transaction<'_>, id: i64) -> Result<Folder> {
    folder(tx, id)?.ok_or(StorageError::NotFound)
}

/// Hand out the next UID of a folder.
fn next_uid(tx: &Transaction<'_>, folder: i64) -> Result<u32> {
    let uid: i64 = tx.query_row(
        "UPDATE folders SET uid_next = uid_next + 1 WHERE id = ?1 RETURNING uid_next - 1",
        params![folder],
        |r| r.get(0),
    )?;
    u32::try_from(uid).map_err(|_| StorageError::Collision)
}

fn add_store_size(tx: &Transaction<'_>, store: i64, delta: i64, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE stores SET size = MAX(0, size + ?2), modified = ?3 WHERE id = ?1",
        params![store, delta, now],
    )?;
    Ok(())
}

fn etag_of(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Append an item. With `att`, large part bodies of a mail go to attachment
/// files first (see the module comment for the ordering).
pub fn append(
    c: &mut Connection,
    att: Option<&AttachmentDir>,
    folder_id: i64,
    n: &NewItem<'_>,
    now: i64,
) -> Result<Appended> {
    let mut v = append_many(c, att, &[folder_id], n, now)?;
    v.pop().ok_or(StorageError::NotFound)
}

/// Append `n` to every folder of `folders` in one transaction: the message
/// is split and its attachment files written once, and one commit (one
/// fsync) covers every copy.
pub fn append_many(
    c: &mut Connection,
    att: Option<&AttachmentDir>,
    folders: &[i64],
    n: &NewItem<'_>,
    now: i64,
) -> Result<Vec<Appended>> {
    let ranges = match att {
        Some(_) if n.kind == ItemKind::Mail => segments::split(n.body),
        _ => Vec::new(),
    };
    let mut segs = Vec::with_capacity(ranges.len());
    if let (Some(att), false) = (att, ranges.is_empty()) {
        // Fail before writing files when a folder is gone.
        for f in folders {
            folder(c, *f)?.ok_or(StorageError::NotFound)?;
        }
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
    let tx = c.transaction()?;
    let mut out = Vec::with_capacity(folders.len());
    for f in folders {
        let a = insert(&tx, *f, n, &stored, now)?;
        add_segments(&tx, a.id, &segs)?;
        out.push(a);
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
    add_store_size(tx, f.store_id, size, now)?;
    Ok(Appended { id, uid, modseq })
}

/// Live items of a folder with `uid > after_uid`, by UID.
pub fn list(c: &Connection, folder_id: i64, after_uid: u32, limit: usize) -> Result<Vec<Item>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {ITEM_COLS} FROM items WHERE folder_id = ?1 AND uid > ?2 AND deleted_at IS NULL \
         ORDER BY uid LIMIT ?3"
    ))?;
    let rows = st.query_map(
        params![folder_id, after_uid, limit.min(i64::MAX as usize) as i64],
        item_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The stored body of item `item` as pieces: the skeleton and its attachment
/// files, opened now (under the caller's connection lock, so a purge cannot
/// remove them before they are open).
fn body_of(
    c: &Connection,
    att: Option<&AttachmentDir>,
    item: i64,
    stored: Vec<u8>,
) -> Result<ItemBody> {
    let segs: Vec<Segment> = {
        let mut st = c.prepare_cached(
            "SELECT pos, len, hash FROM item_segments WHERE item_id = ?1 ORDER BY seq",
        )?;
        let rows = st.query_map(params![item], |r| {
            Ok(Segment {
                pos: r.get::<_, i64>(0)?.max(0) as u64,
                len: r.get::<_, i64>(1)?.max(0) as u64,
                hash: r.get(2)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    if segs.is_empty() {
        return Ok(ItemBody::inline(stored));
    }
    let att = att.ok_or_else(|| StorageError::Io {
        path: "attachment_path".into(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "item has attachment segments but no attachment directory is configured",
        ),
    })?;
    segments::assemble(stored, &segs, |s| {
        let f = att.open(&s.hash)?;
        let len = f
            .metadata()
            .map_err(|source| StorageError::Io {
                path: s.hash.clone(),
                source,
            })?
            .len();
        if len != s.len {
            return Err(segments::short_file());
        }
        Ok(f)
    })
}

/// A live item and its body as pieces.
pub fn get_body(
    c: &Connection,
    att: Option<&AttachmentDir>,
    folder_id: i64,
    uid: u32,
) -> Result<(Item, ItemBody)> {
    let (it, stored) = c
        .query_row(
            &format!(
                "SELECT {ITEM_COLS}, body FROM items WHERE folder_id = ?1 AND uid = ?2 AND deleted_at IS NULL"
            ),
            params![folder_id, uid],
            |r| Ok((item_row(r)?, r.get::<_, Vec<u8>>(15)?)),
        )
        .optional()?
        .ok_or(StorageError::NotFound)?;
    let body = body_of(c, att, it.id, stored)?;
    Ok((it, body))
}

/// A live item and the header block of its body (RFC 5322 header up to
/// and including the blank line; the whole body when it has none), taken
/// from the stored skeleton without opening attachment files whenever the
/// header lies before the first cut-out part (always, for parsable mail).
pub fn get_header(
    c: &Connection,
    att: Option<&AttachmentDir>,
    folder_id: i64,
    uid: u32,
) -> Result<(Item, Vec<u8>)> {
    let (it, stored, first) = c
        .query_row(
            &format!(
                "SELECT {ITEM_COLS}, body, \
                 (SELECT MIN(pos) FROM item_segments s WHERE s.item_id = items.id) \
                 FROM items WHERE folder_id = ?1 AND uid = ?2 AND deleted_at IS NULL"
            ),
            params![folder_id, uid],
            |r| {
                Ok((
                    item_row(r)?,
                    r.get::<_, Vec<u8>>(15)?,
                    r.get::<_, Option<i64>>(16)?,
                ))
            },
        )
        .optional()?
        .ok_or(StorageError::NotFound)?;
    let first = first.map(|p| p.max(0) as u64);
    if let Some(h) = segments::stored_header(&stored, first) {
        return Ok((it, h.to_vec()));
    }
    // The parser that cut the parts saw the header end elsewhere: read it all.
    let whole = body_of(c, att, it.id, stored)?.into_vec()?;
    let end = segments::header_end(&whole).unwrap_or(whole.len());
    let mut whole = whole;
    whole.truncate(end);
    Ok((it, whole))
}

/// A live item and its whole body.
pub fn get(
    c: &Connection,
    att: Option<&AttachmentDir>,
    folder_id: i64,
    uid: u32,
) -> Result<(Item, Vec<u8>)> {
    let (it, body) = get_body(c, att, folder_id, uid)?;
    Ok((it, body.into_vec()?))
}

/// A live groupware item by its iCalendar/vCard UID, with its body.
pub fn get_by_obj_uid(
    c: &Connection,
    att: Option<&AttachmentDir>,
    folder_id: i64,
    obj_uid: &str,
) -> Result<(Item, Vec<u8>)> {
    let (it, stored) = c
        .query_row(
            &format!(
                "SELECT {ITEM_COLS}, body FROM items WHERE folder_id = ?1 AND obj_uid = ?2 AND deleted_at IS NULL"
            ),
            params![folder_id, obj_uid],
            |r| Ok((item_row(r)?, r.get::<_, Vec<u8>>(15)?)),
        )
        .optional()?
        .ok_or(StorageError::NotFound)?;
    let body = body_of(c, att, it.id, stored)?;
    Ok((it, body.into_vec()?))
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
pub fn copy(
    c: &mut Connection,
    folder_id: i64,
    uids: &[u32],
    dest: i64,
    now: i64,
) -> Result<Vec<(u32, u32)>> {
    let tx = c.transaction()?;
    live_folder(&tx, folder_id)?;
    let d = live_folder(&tx, dest)?;
    let mut out = Vec::new();
    for it in live_items(&tx, folder_id, uids)? {
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
        add_store_size(&tx, d.store_id, it.size, now)?;
        out.push((it.uid, uid));
    }
    tx.commit()?;
    Ok(out)
}

/// Move items into `dest` (new UIDs there; a tombstone for the old location).
/// Returns `(source uid, new uid)`.
pub fn move_items(
    c: &mut Connection,
    folder_id: i64,
    uids: &[u32],
    dest: i64,
    now: i64,
) -> Result<Vec<(u32, u32)>> {
    let tx = c.transaction()?;
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
    for it in live_items(&tx, folder_id, uids)? {
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

fn soft_delete_item(tx: &Transaction<'_>, store: i64, it: &Item, now: i64) -> Result<i64> {
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
/// Returns the new state and whether it was created.
pub fn put_object(
    c: &mut Connection,
    folder_id: i64,
    kind: ItemKind,
    obj_uid: &str,
    body: &[u8],
    if_match: Option<&str>,
    now: i64,
) -> Result<(Appended, String, bool)> {
    let tx = c.transaction()?;
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
            add_store_size(&tx, f.store_id, body.len() as i64 - it.size, now)?;
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

// ---- folders ------------------------------------------------------------------

fn check_name(tx: &Transaction<'_>, parent: i64, name: &str, except: Option<i64>) -> Result<()> {
    if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        return Err(StorageError::NotFound);
    }
    let taken: i64 = tx.query_row(
        "SELECT COUNT(*) FROM folders WHERE parent_id = ?1 AND deleted = 0 AND name = ?2 COLLATE NOCASE AND id != ?3",
        params![parent, name, except.unwrap_or(0)],
        |r| r.get(0),
    )?;
    if taken > 0 {
        return Err(StorageError::Collision);
    }
    Ok(())
}

pub fn create_folder(
    c: &mut Connection,
    parent: i64,
    name: &str,
    class: Option<&str>,
    now: i64,
) -> Result<Folder> {
    let tx = c.transaction()?;
    let p = live_folder(&tx, parent)?;
    check_name(&tx, parent, name, None)?;
    // Above every validity in the store, so a folder deleted and re-created
    // under the same name within one second still gets a new UIDVALIDITY.
    let highest: i64 = tx.query_row(
        "SELECT COALESCE(MAX(uid_validity), 0) FROM folders WHERE store_id = ?1",
        params![p.store_id],
        |r| r.get(0),
    )?;
    let validity =
        u32::try_from(now.max(highest + 1).max(1)).map_err(|_| StorageError::Collision)?;
    tx.execute(
        "INSERT INTO folders (store_id, parent_id, name, container_class, uid_validity) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![p.store_id, parent, name, class, validity],
    )?;
    let id = tx.last_insert_rowid();
    let m = record(
        &tx,
        p.store_id,
        "folder",
        id,
        Some(parent),
        None,
        "new",
        now,
    )?;
    tx.execute(
        "UPDATE folders SET change_num = ?2 WHERE id = ?1",
        params![id, m],
    )?;
    let f = live_folder(&tx, id)?;
    tx.commit()?;
    Ok(f)
}

/// Rename and/or move a folder. Role folders (the standard set) cannot be
/// moved; a folder cannot be moved below itself.
pub fn update_folder(
    c: &mut Connection,
    id: i64,
    name: Option<&str>,
    parent: Option<i64>,
    now: i64,
) -> Result<i64> {
    let tx = c.transaction()?;
    let f = live_folder(&tx, id)?;
    let new_parent = parent.or(f.parent).ok_or(StorageError::NotFound)?;
    let p = live_folder(&tx, new_parent)?;
    if p.store_id != f.store_id || (parent.is_some() && f.role.is_some()) {
        return Err(StorageError::NotFound);
    }
    // Walk up from the new parent: reaching `id` means a cycle.
    let mut cur = Some(new_parent);
    while let Some(x) = cur {
        if x == id {
            return Err(StorageError::Collision);
        }
        cur = tx.query_row(
            "SELECT parent_id FROM folders WHERE id = ?1",
            params![x],
            |r| r.get(0),
        )?;
    }
    let name = name.unwrap_or(&f.name).to_owned();
    check_name(&tx, new_parent, &name, Some(id))?;
    let kind = if parent.is_some() { "move" } else { "rename" };
    let m = record(
        &tx,
        f.store_id,
        "folder",
        id,
        Some(new_parent),
        None,
        kind,
        now,
    )?;
    tx.execute(
        "UPDATE folders SET name = ?2, parent_id = ?3, change_num = ?4 WHERE id = ?1",
        params![id, name, new_parent, m],
    )?;
    tx.commit()?;
    Ok(m)
}

/// Soft-delete a folder, its subfolders and their items. Role folders cannot be deleted.
pub fn delete_folder(c: &mut Connection, id: i64, now: i64) -> Result<i64> {
    let tx = c.transaction()?;
    let f = live_folder(&tx, id)?;
    if f.role.is_some() {
        return Err(StorageError::NotFound);
    }
    let mut subtree = vec![id];
    let mut i = 0;
    while i < subtree.len() {
        let mut st =
            tx.prepare_cached("SELECT id FROM folders WHERE parent_id = ?1 AND deleted = 0")?;
        let kids = st
            .query_map(params![subtree[i]], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        subtree.extend(kids);
        i += 1;
    }
    let mut last = 0;
    for &fid in subtree.iter().rev() {
        let items = {
            let mut st = tx.prepare_cached(&format!(
                "SELECT {ITEM_COLS} FROM items WHERE folder_id = ?1 AND deleted_at IS NULL"
            ))?;
            let rows = st.query_map(params![fid], item_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        for it in &items {
            soft_delete_item(&tx, f.store_id, it, now)?;
        }
        last = record(&tx, f.store_id, "folder", fid, None, None, "delete", now)?;
        tx.execute(
            "UPDATE folders SET deleted = 1, deleted_at = ?2, change_num = ?3 WHERE id = ?1",
            params![fid, now, last],
        )?;
    }
    tx.commit()?;
    Ok(last)
}

/// The `older_than` for [`purge_softdeleted`] under `softdelete_lifetime`
/// (days): `None` when the lifetime is 0, which keeps deleted items forever.
pub fn softdelete_cutoff(lifetime_days: u64, now: i64) -> Option<i64> {
    if lifetime_days == 0 {
        return None;
    }
    let secs = i64::try_from(lifetime_days.saturating_mul(86_400)).unwrap_or(i64::MAX);
    Some(now.saturating_sub(secs))
}

/// Remove soft-deleted items and folders deleted before `older_than` for good,
/// giving their size back to the store. Returns how many items were removed.
pub fn purge_softdeleted(c: &mut Connection, older_than: i64, now: i64) -> Result<usize> {
    let tx = c.transaction()?;
    let sizes: Vec<(i64, i64)> = {
        let mut st = tx.prepare(
            "SELECT store_id, SUM(size) FROM items WHERE deleted_at IS NOT NULL AND deleted_at < ?1 GROUP BY store_id",
        )?;
        let rows = st.query_map(params![older_than], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    for (store, size) in sizes {
        add_store_size(&tx, store, -size, now)?;
    }
    let n = tx.execute(
        "DELETE FROM items WHERE deleted_at IS NOT NULL AND deleted_at < ?1",
        params![older_than],
    )?;
    // Only folders that no longer hold items (a folder deleted later than one
    // of its items is kept until its own time comes).
    tx.execute(
        "DELETE FROM folders WHERE deleted = 1 AND deleted_at IS NOT NULL AND deleted_at < ?1 \
         AND NOT EXISTS (SELECT 1 FROM items WHERE items.folder_id = folders.id) \
         AND NOT EXISTS (SELECT 1 FROM folders k WHERE k.parent_id = folders.id \
         AND (k.deleted = 0 OR k.deleted_at IS NULL OR k.deleted_at >= ?1))",
        params![older_than],
    )?;
    tx.commit()?;
    Ok(n)
}

/// Remove attachment rows no item segment references any more, then their
/// files (after the commit: a crash in between leaves files without rows,
/// which the sweep at open removes). Returns how many were removed. Runs
/// under the connection lock, so no append can be about to reference them.
pub fn gc_attachments(c: &mut Connection, att: Option<&AttachmentDir>) -> Result<usize> {
    let Some(att) = att else {
        // Without the directory the files cannot be removed; keep the rows.
        return Ok(0);
    };
    let tx = c.transaction()?;
    let dead: Vec<String> = {
        let mut st = tx.prepare(
            "SELECT hash FROM attachments a WHERE NOT EXISTS \
             (SELECT 1 FROM item_segments s WHERE s.hash = a.hash)",
        )?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    for h in &dead {
        tx.execute("DELETE FROM attachments WHERE hash = ?1", params![h])?;
    }
    tx.commit()?;
    for h in &dead {
        match att.remove(h) {
            Ok(()) => {}
            Err(StorageError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(hash = %h, error = %e, "cannot remove attachment file"),
        }
    }
    Ok(dead.len())
}

/// Whether `hash` names a known attachment (for the sweep at open).
pub fn attachment_known(c: &Connection, hash: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT COUNT(*) FROM attachments WHERE hash = ?1",
        params![hash],
        |r| r.get::<_, i64>(0),
    )? > 0)
}

/// A folder with its live counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderStatus {
    pub folder: Folder,
    /// The highest change number of any item change in the folder
    /// (tombstones included) or of the folder itself.
    pub highest_modseq: i64,
    /// Live items.
    pub exists: u32,
}

/// A live folder with its counters.
pub fn folder_status(c: &Connection, id: i64) -> Result<Option<FolderStatus>> {
    let Some(f) = folder(c, id)? else {
        return Ok(None);
    };
    let (hm, exists): (i64, i64) = c.query_row(
        "SELECT MAX(f.change_num, f.item_modseq), \
         (SELECT COUNT(*) FROM items i WHERE i.folder_id = f.id AND i.deleted_at IS NULL) \
         FROM folders f WHERE f.id = ?1",
        params![id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Some(FolderStatus {
        folder: f,
        highest_modseq: hm,
        exists: u32::try_from(exists).unwrap_or(u32::MAX),
    }))
}

/// Every live folder of a store with its counters, by id.
pub fn folder_statuses(c: &Connection, store: i64) -> Result<Vec<FolderStatus>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {FOLDER_COLS}, MAX(f.change_num, f.item_modseq), \
         (SELECT COUNT(*) FROM items i WHERE i.folder_id = f.id AND i.deleted_at IS NULL) \
         FROM folders f WHERE f.store_id = ?1 AND f.deleted = 0 ORDER BY f.id"
    ))?;
    let rows = st.query_map(params![store], |r| {
        Ok(FolderStatus {
            folder: folder_row(r)?,
            highest_modseq: r.get(8)?,
            exists: u32::try_from(r.get::<_, i64>(9)?).unwrap_or(u32::MAX),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::super::attachments::AttachmentDir;
    use super::super::sqlite::SqliteStorage;
    use super::super::{ObjectData, ObjectKind, Quota, QuotaLevel, Storage, StoreType};
    use super::*;

    const MSG: &[u8] = b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nFrom: \"A\" <a@example.org>\r\n\
To: b@example.org, c@example.org\r\nSubject: =?utf-8?q?h=C3=A9llo?=\r\n\
Message-ID: <m1@example.org>\r\n\r\nbody\r\n";

    fn setup(s: &SqliteStorage) -> (i64, i64, i64) {
        let u = s
            .create_object(
                ObjectKind::User,
                "db",
                "john",
                &ObjectData {
                    login: "john".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let st = s.create_store(StoreType::Private, Some(u), "john").unwrap();
        let f = s.folders(st.id).unwrap();
        let role = |r: &str| f.iter().find(|x| x.role.as_deref() == Some(r)).unwrap().id;
        (st.id, role("inbox"), role("wastebasket"))
    }

    fn mail(body: &[u8]) -> NewItem<'_> {
        NewItem {
            kind: ItemKind::Mail,
            obj_uid: None,
            body,
            flags: &[],
            internal_date: 1,
        }
    }

    #[test]
    fn cutoff() {
        assert_eq!(softdelete_cutoff(0, 1_000_000), None);
        assert_eq!(softdelete_cutoff(1, 1_000_000), Some(1_000_000 - 86_400));
        assert_eq!(softdelete_cutoff(u64::MAX, 0), Some(-i64::MAX));
    }

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

    #[test]
    fn uids_monotonic_validity_stable_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kc.db");
        let (inbox, validity, last_uid);
        {
            let s = SqliteStorage::open(&path).unwrap();
            let (_, i, _) = setup(&s);
            inbox = i;
            let a = s.append_item(inbox, &mail(MSG)).unwrap();
            let b = s.append_item(inbox, &mail(MSG)).unwrap();
            assert_eq!((a.uid, b.uid), (1, 2));
            assert!(b.modseq > a.modseq);
            // UIDs are never reused, even after delete + purge.
            s.delete_items(inbox, &[2]).unwrap();
            s.purge_softdeleted(i64::MAX).unwrap();
            let c = s.append_item(inbox, &mail(MSG)).unwrap();
            assert_eq!(c.uid, 3);
            last_uid = c.uid;
            validity = s.folder(inbox).unwrap().unwrap().uid_validity;
        }
        let s = SqliteStorage::open(&path).unwrap();
        let f = s.folder(inbox).unwrap().unwrap();
        assert_eq!(f.uid_validity, validity);
        assert_eq!(f.uid_next, last_uid + 1);
        let (it, body) = s.item(inbox, 1).unwrap();
        assert_eq!(body, MSG);
        assert_eq!(it.size, MSG.len() as i64);
        assert_eq!(it.envelope.subject, "héllo");
    }

    #[test]
    fn flags_copy_move_expunge_and_changes() {
        let s = SqliteStorage::in_memory().unwrap();
        let (store, inbox, trash) = setup(&s);
        let start = s.last_change().unwrap();
        for _ in 0..3 {
            s.append_item(inbox, &mail(MSG)).unwrap();
        }
        let seen = vec!["\\Seen".to_owned()];
        let ch = s.set_flags(inbox, &[1, 2, 99], FlagOp::Add, &seen).unwrap();
        assert_eq!(ch.len(), 2);
        // Setting a flag that is already there is not a change.
        assert!(s
            .set_flags(inbox, &[1], FlagOp::Add, &seen)
            .unwrap()
            .is_empty());
        let del = vec![DELETED_FLAG.to_owned()];
        s.set_flags(inbox, &[1], FlagOp::Add, &del).unwrap();
        assert_eq!(
            s.list_items(inbox, 0, 10).unwrap()[0].flags,
            ["\\Deleted", "\\Seen"]
        );
        s.set_flags(inbox, &[2], FlagOp::Remove, &seen).unwrap();
        assert!(s.list_items(inbox, 1, 1).unwrap()[0].flags.is_empty());

        let copied = s.copy_items(inbox, &[2, 3], trash).unwrap();
        assert_eq!(copied, vec![(2, 1), (3, 2)]);
        let moved = s.move_items(inbox, &[3], trash).unwrap();
        assert_eq!(moved, vec![(3, 3)]);
        assert!(s.item(inbox, 3).is_err());
        assert_eq!(s.item(trash, 3).unwrap().1, MSG);
        assert_eq!(s.expunge(inbox).unwrap(), vec![1]);
        let left: Vec<u32> = s
            .list_items(inbox, 0, 10)
            .unwrap()
            .iter()
            .map(|i| i.uid)
            .collect();
        assert_eq!(left, vec![2]);

        let changes = s.changes_since(store, start, 1000).unwrap();
        assert!(changes.windows(2).all(|w| w[0].modseq < w[1].modseq));
        let tombstones: Vec<(Option<i64>, Option<u32>)> = changes
            .iter()
            .filter(|c| c.change_type == "delete")
            .map(|c| (c.folder_id, c.uid))
            .collect();
        assert_eq!(
            tombstones,
            vec![(Some(inbox), Some(3)), (Some(inbox), Some(1))]
        );
        let last = changes.last().unwrap().modseq;
        assert!(s.changes_since(store, last, 10).unwrap().is_empty());
        assert_eq!(s.changes_since(store, start, 2).unwrap().len(), 2);
        // A purge removes rows but never the change numbers already handed out.
        s.purge_softdeleted(i64::MAX).unwrap();
        let a = s.append_item(inbox, &mail(MSG)).unwrap();
        assert!(a.modseq > last);
    }

    #[test]
    fn quota_accounting_soft_delete_and_purge() {
        let s = SqliteStorage::in_memory().unwrap();
        let (store, inbox, trash) = setup(&s);
        let n = MSG.len() as i64;
        s.append_item(inbox, &mail(MSG)).unwrap();
        s.append_item(inbox, &mail(MSG)).unwrap();
        s.copy_items(inbox, &[1], trash).unwrap();
        assert_eq!(s.store(store).unwrap().unwrap().size, 3 * n);
        s.move_items(inbox, &[2], trash).unwrap();
        assert_eq!(s.store(store).unwrap().unwrap().size, 3 * n);
        // Soft-deleted items still count (as in KC) until purged.
        s.delete_items(trash, &[1]).unwrap();
        assert_eq!(s.store(store).unwrap().unwrap().size, 3 * n);
        assert_eq!(s.purge_softdeleted(0).unwrap(), 0);
        assert_eq!(s.purge_softdeleted(i64::MAX).unwrap(), 1);
        assert_eq!(s.store(store).unwrap().unwrap().size, 2 * n);

        let defaults = Quota {
            override_default: false,
            warn: n,
            soft: 3 * n,
            hard: 0,
        };
        let q = s.quota_status(store, &defaults).unwrap();
        assert_eq!((q.size, q.level), (2 * n, QuotaLevel::Warn));
        let owner = s.store(store).unwrap().unwrap().owner.unwrap();
        s.set_quota(
            owner,
            &Quota {
                override_default: true,
                warn: 0,
                soft: 0,
                hard: 2 * n,
            },
        )
        .unwrap();
        assert_eq!(
            s.quota_status(store, &defaults).unwrap().level,
            QuotaLevel::Hard
        );

        // A folder delete soft-deletes its subtree with the items; purge frees them.
        let top = s.folder(inbox).unwrap().unwrap().parent.unwrap();
        let f = s.create_folder(top, "Projects", Some("IPF.Note")).unwrap();
        let sub = s.create_folder(f.id, "Sub", None).unwrap();
        assert!(matches!(
            s.create_folder(top, "projects", None),
            Err(StorageError::Collision)
        ));
        s.append_item(sub.id, &mail(MSG)).unwrap();
        assert!(sub.uid_validity > f.uid_validity);
        assert!(matches!(
            s.update_folder(f.id, None, Some(sub.id)),
            Err(StorageError::Collision)
        ));
        s.update_folder(sub.id, Some("Renamed"), Some(top)).unwrap();
        s.update_folder(sub.id, None, Some(f.id)).unwrap();
        assert!(s.delete_folder(inbox).is_err());
        s.delete_folder(f.id).unwrap();
        assert!(s.folder(sub.id).unwrap().is_none());
        assert!(s.folders(store).unwrap().iter().all(|x| x.id != sub.id));
        assert_eq!(s.store(store).unwrap().unwrap().size, 3 * n);
        assert_eq!(s.purge_softdeleted(i64::MAX).unwrap(), 1);
        assert_eq!(s.store(store).unwrap().unwrap().size, 2 * n);
    }

    fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    todo.push(p);
                } else {
                    out.push(p);
                }
            }
        }
        out
    }

    fn user_store(s: &SqliteStorage, login: &str) -> (i64, i64, i64) {
        let u = s
            .create_object(
                ObjectKind::User,
                "db",
                login,
                &ObjectData {
                    login: login.into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let st = s.create_store(StoreType::Private, Some(u), login).unwrap();
        let f = s.folders(st.id).unwrap();
        let role = |r: &str| f.iter().find(|x| x.role.as_deref() == Some(r)).unwrap().id;
        (st.id, role("inbox"), role("wastebasket"))
    }

    fn refcount(s: &SqliteStorage) -> Vec<(i64, i64)> {
        let c = s.conn_for_tests();
        let mut st = c
            .prepare(
                "SELECT a.refcount, (SELECT COUNT(*) FROM item_segments g WHERE g.hash = a.hash) \
                 FROM attachments a ORDER BY a.hash",
            )
            .unwrap();
        let rows = st
            .query_map([], |r| Ok((r.get(0).unwrap(), r.get(1).unwrap())))
            .unwrap();
        rows.map(|r| r.unwrap()).collect()
    }

    #[test]
    fn one_attachment_file_for_thirty_recipients() {
        let dir = tempfile::tempdir().unwrap();
        let att_dir = dir.path().join("att");
        let s = SqliteStorage::open_with_attachments(&dir.path().join("kc.db"), Some(&att_dir))
            .unwrap();
        let att: Vec<u8> = (0..1_000_000u32).map(|i| (i * 31 % 253) as u8).collect();
        let mut sent = Vec::new();
        for i in 0..30 {
            let (store, inbox, _) = user_store(&s, &format!("user{i}"));
            // Per-recipient headers differ; the attachment is still shared.
            let raw = segments::tests::big_message(&att, &format!("\r\nX-Rcpt: user{i}"));
            let a = s.append_item(inbox, &mail(&raw)).unwrap();
            assert_eq!(
                s.store(store).unwrap().unwrap().size,
                raw.len() as i64,
                "quota counts the whole message"
            );
            sent.push((inbox, a.uid, raw));
        }
        assert_eq!(files_under(&att_dir).len(), 1);
        assert_eq!(refcount(&s), vec![(30, 30)]);
        for (inbox, uid, raw) in &sent {
            let (it, body) = s.item(*inbox, *uid).unwrap();
            assert_eq!(&body, raw);
            assert_eq!(it.size, raw.len() as i64);
            assert_eq!(it.etag, etag_of(raw));
            assert_eq!(it.envelope.subject, "report");
            let (_, pieces) = s.item_body(*inbox, *uid).unwrap();
            assert_eq!(pieces.len, raw.len() as u64);
            assert!(pieces
                .pieces
                .iter()
                .any(|p| matches!(p, segments::Piece::File(..))));
        }
        // The database holds skeletons only.
        let stored: i64 = s
            .conn_for_tests()
            .query_row("SELECT SUM(LENGTH(body)) FROM items", [], |r| r.get(0))
            .unwrap();
        assert!(stored < 30 * 2000, "{stored}");
    }

    #[test]
    fn header_without_attachment_files_and_store_props() {
        let dir = tempfile::tempdir().unwrap();
        let att_dir = dir.path().join("att");
        let db = dir.path().join("kc.db");
        let s = SqliteStorage::open_with_attachments(&db, Some(&att_dir)).unwrap();
        let (store, inbox, _) = user_store(&s, "hdr");
        let raw = segments::tests::big_message(&[5u8; 500_000], "\r\nX-Big: yes");
        let a = s.append_item(inbox, &mail(&raw)).unwrap();
        let small = s.append_item(inbox, &mail(MSG)).unwrap();
        let bare = s.append_item(inbox, &mail(b"Subject: no body")).unwrap();
        let want = &raw[..segments::header_end(&raw).unwrap()];
        // The attachment file is gone: the header still comes from the skeleton.
        for f in files_under(&att_dir) {
            std::fs::remove_file(f).unwrap();
        }
        assert!(s.item(inbox, a.uid).is_err());
        let (it, h) = s.item_header(inbox, a.uid).unwrap();
        assert_eq!(h, want);
        assert_eq!(it.size, raw.len() as i64);
        let (_, h) = s.item_header(inbox, small.uid).unwrap();
        assert_eq!(h, &MSG[..MSG.len() - 6]);
        let (_, h) = s.item_header(inbox, bare.uid).unwrap();
        assert_eq!(h, b"Subject: no body");
        assert!(matches!(
            s.item_header(inbox, 999),
            Err(StorageError::NotFound)
        ));

        // Store properties: set, replace, survive a reopen, delete.
        assert_eq!(s.store_prop(store, "imap.subscriptions").unwrap(), None);
        s.set_store_prop(store, "imap.subscriptions", Some(b"INBOX\n"))
            .unwrap();
        s.set_store_prop(store, "imap.subscriptions", Some(b"INBOX\nA\n"))
            .unwrap();
        s.set_store_prop(store, "empty", Some(b"")).unwrap();
        drop(s);
        let s = SqliteStorage::open(&db).unwrap();
        assert_eq!(
            s.store_prop(store, "imap.subscriptions")
                .unwrap()
                .as_deref(),
            Some(&b"INBOX\nA\n"[..])
        );
        assert_eq!(
            s.store_prop(store, "empty").unwrap().as_deref(),
            Some(&b""[..])
        );
        let (other, _, _) = user_store(&s, "other");
        assert_eq!(s.store_prop(other, "imap.subscriptions").unwrap(), None);
        s.set_store_prop(store, "imap.subscriptions", None).unwrap();
        s.set_store_prop(store, "never-set", None).unwrap();
        assert_eq!(s.store_prop(store, "imap.subscriptions").unwrap(), None);
        // Rows go with their store.
        s.set_store_prop(other, "x", Some(b"1")).unwrap();
        s.conn_for_tests()
            .execute("DELETE FROM stores WHERE id = ?1", params![other])
            .unwrap();
        let left: i64 = s
            .conn_for_tests()
            .query_row("SELECT COUNT(*) FROM store_props", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1);
        assert!(super::super::props::valid_name("imap.subscriptions"));
        assert!(super::super::props::valid_name(&"a".repeat(64)));
        assert!(!super::super::props::valid_name(&"a".repeat(65)));
        assert!(!super::super::props::valid_name(""));
        assert!(!super::super::props::valid_name("a/b"));
        assert!(!super::super::props::valid_name("a%2e"));
        assert!(!super::super::props::valid_name("\u{e9}"));
    }

    #[test]
    fn copy_purge_keep_refcounts_and_gc_files() {
        let dir = tempfile::tempdir().unwrap();
        let att_dir = dir.path().join("att");
        let s = SqliteStorage::in_memory_with_attachments(&att_dir).unwrap();
        let (store, inbox, trash) = user_store(&s, "john");
        let raw = segments::tests::big_message(&[7u8; 100_000], "");
        s.append_item(inbox, &mail(&raw)).unwrap();
        s.copy_items(inbox, &[1], trash).unwrap();
        assert_eq!(refcount(&s), vec![(2, 2)]);
        assert_eq!(s.item(trash, 1).unwrap().1, raw);
        s.move_items(trash, &[1], inbox).unwrap();
        assert_eq!(refcount(&s), vec![(2, 2)]);
        s.delete_items(inbox, &[1]).unwrap();
        // Soft-deleted items keep their attachment until purged.
        assert_eq!(s.purge_softdeleted(0).unwrap(), 0);
        assert_eq!(files_under(&att_dir).len(), 1);
        assert_eq!(s.purge_softdeleted(i64::MAX).unwrap(), 1);
        assert_eq!(refcount(&s), vec![(1, 1)]);
        assert_eq!(files_under(&att_dir).len(), 1);
        assert_eq!(s.item(inbox, 2).unwrap().1, raw);
        s.set_flags(inbox, &[2], FlagOp::Add, &[DELETED_FLAG.to_owned()])
            .unwrap();
        assert_eq!(s.expunge_uids(inbox, &[1, 3]).unwrap(), Vec::<u32>::new());
        assert_eq!(s.expunge_uids(inbox, &[2]).unwrap(), vec![2]);
        assert_eq!(s.purge_softdeleted(i64::MAX).unwrap(), 1);
        assert!(refcount(&s).is_empty());
        assert!(files_under(&att_dir).is_empty());
        assert_eq!(s.store(store).unwrap().unwrap().size, 0);
        // Appending it again after the purge writes the file again.
        let a = s.append_item(inbox, &mail(&raw)).unwrap();
        assert_eq!(s.item(inbox, a.uid).unwrap().1, raw);
        assert_eq!(files_under(&att_dir).len(), 1);
    }

    #[test]
    fn small_messages_inline_and_no_dir_keeps_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let att_dir = dir.path().join("att");
        let s = SqliteStorage::in_memory_with_attachments(&att_dir).unwrap();
        let (_, inbox, _) = user_store(&s, "john");
        s.append_item(inbox, &mail(MSG)).unwrap();
        assert!(files_under(&att_dir).is_empty());
        assert!(refcount(&s).is_empty());
        // Without an attachment directory large messages stay whole BLOBs.
        let s = SqliteStorage::in_memory().unwrap();
        let (_, inbox, _) = user_store(&s, "john");
        let raw = segments::tests::big_message(&[7u8; 100_000], "");
        s.append_item(inbox, &mail(&raw)).unwrap();
        assert_eq!(s.item(inbox, 1).unwrap().1, raw);
        let stored: i64 = s
            .conn_for_tests()
            .query_row("SELECT LENGTH(body) FROM items", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, raw.len() as i64);
    }

    #[test]
    fn open_sweeps_tmp_and_orphan_files() {
        let dir = tempfile::tempdir().unwrap();
        let att_dir = dir.path().join("att");
        let db = dir.path().join("kc.db");
        let raw = segments::tests::big_message(&[9u8; 100_000], "");
        let inbox;
        {
            let s = SqliteStorage::open_with_attachments(&db, Some(&att_dir)).unwrap();
            inbox = user_store(&s, "john").1;
            s.append_item(inbox, &mail(&raw)).unwrap();
        }
        let a = AttachmentDir::new(&att_dir).unwrap();
        // An append that crashed after writing its file but before the commit.
        let orphan = a.put(b"never committed").unwrap();
        let kept = files_under(&att_dir);
        let tmp = kept[0].parent().unwrap().join(".tmp-0123");
        std::fs::write(&tmp, b"partial").unwrap();
        let s = SqliteStorage::open_with_attachments(&db, Some(&att_dir)).unwrap();
        assert!(!a.contains(&orphan));
        assert!(!tmp.exists());
        assert_eq!(files_under(&att_dir).len(), 1);
        assert_eq!(s.item(inbox, 1).unwrap().1, raw);
        let st = s.folder_status(inbox).unwrap().unwrap();
        assert_eq!(st.exists, 1);
        assert!(st.highest_modseq >= s.list_items(inbox, 0, 1).unwrap()[0].modseq);
    }

    #[test]
    fn folder_status_counts_and_highest_modseq() {
        let s = SqliteStorage::in_memory().unwrap();
        let (store, inbox, trash) = setup(&s);
        let before = s.folder_status(inbox).unwrap().unwrap().highest_modseq;
        s.append_item(inbox, &mail(MSG)).unwrap();
        let a = s.append_item(inbox, &mail(MSG)).unwrap();
        let st = s.folder_status(inbox).unwrap().unwrap();
        assert_eq!((st.exists, st.highest_modseq), (2, a.modseq));
        assert!(a.modseq > before);
        s.move_items(inbox, &[1], trash).unwrap();
        let st = s.folder_status(inbox).unwrap().unwrap();
        // The tombstone of the moved item raises the source's HIGHESTMODSEQ.
        assert_eq!(st.exists, 1);
        assert!(st.highest_modseq > a.modseq);
        let all = s.folder_statuses(store).unwrap();
        let t = all.iter().find(|f| f.folder.id == trash).unwrap();
        assert_eq!(t.exists, 1);
        assert_eq!(all.iter().find(|f| f.folder.id == inbox).unwrap(), &st);
    }

    #[tokio::test]
    async fn writes_wake_change_waiters() {
        let s = std::sync::Arc::new(SqliteStorage::in_memory().unwrap());
        let (store, inbox, _) = setup(&s);
        let mut rx = s.subscribe_changes(store).unwrap();
        let w = s.clone();
        let t = tokio::task::spawn_blocking(move || w.append_item(inbox, &mail(MSG)).unwrap());
        rx.changed().await.unwrap();
        let a = t.await.unwrap();
        assert_eq!(*rx.borrow(), a.modseq);
        let other = user_store(&s, "mary").0;
        let rx2 = s.subscribe_changes(other).unwrap();
        s.set_flags(inbox, &[1], FlagOp::Add, &["\\Seen".to_owned()])
            .unwrap();
        assert!(rx.has_changed().unwrap());
        assert!(!rx2.has_changed().unwrap());
    }

    #[test]
    fn groupware_etags() {
        let s = SqliteStorage::in_memory().unwrap();
        let (store, _, _) = setup(&s);
        let cal = s
            .folders(store)
            .unwrap()
            .into_iter()
            .find(|f| f.role.as_deref() == Some("calendar"))
            .unwrap()
            .id;
        let v1 = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let (a, etag, created) = s
            .put_object_item(cal, ItemKind::Calendar, "e1", v1, None)
            .unwrap();
        assert!(created);
        assert!(matches!(
            s.put_object_item(cal, ItemKind::Calendar, "e1", b"x", Some("nope")),
            Err(StorageError::Collision)
        ));
        assert!(matches!(
            s.put_object_item(cal, ItemKind::Calendar, "e2", b"x", Some("*")),
            Err(StorageError::Collision)
        ));
        let (b, etag2, created) = s
            .put_object_item(cal, ItemKind::Calendar, "e1", b"v2", Some(&etag))
            .unwrap();
        assert!(!created);
        assert_eq!(a.uid, b.uid);
        assert!(b.modseq > a.modseq);
        assert_ne!(etag, etag2);
        let (it, body) = s.object_item(cal, "e1").unwrap();
        assert_eq!(
            (it.etag.as_str(), body.as_slice()),
            (etag2.as_str(), &b"v2"[..])
        );
        assert!(matches!(
            s.delete_object_item(cal, "e1", Some(&etag)),
            Err(StorageError::Collision)
        ));
        s.delete_object_item(cal, "e1", Some(&etag2)).unwrap();
        assert!(s.object_item(cal, "e1").is_err());
    }
}
