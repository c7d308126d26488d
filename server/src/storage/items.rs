//! Mailbox items (mail, calendar, contacts, tasks) and the folder-hierarchy
//! writes, as SQL over one SQLite connection. `sqlite.rs` wraps each call in
//! the connection mutex; every write runs in one transaction that records its
//! change numbers (`changes.rs`) before committing.
//!
//! Item bodies are BLOBs in the `items` table rather than content-addressed
//! files: the row, its UID, the store size and the change record then commit
//! atomically with one fsync (`synchronous = FULL`), so an acknowledged append
//! can never be half-written and no orphan-file sweep is needed. The body is
//! never read by the listing queries.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use sha2::{Digest, Sha256};

use super::changes::record;
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

/// How `set_flags` combines the given flags with an item's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Add,
    Remove,
    Replace,
}

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

pub fn append(c: &mut Connection, folder_id: i64, n: &NewItem<'_>, now: i64) -> Result<Appended> {
    let tx = c.transaction()?;
    let a = insert(&tx, folder_id, n, now)?;
    tx.commit()?;
    Ok(a)
}

fn insert(tx: &Transaction<'_>, folder_id: i64, n: &NewItem<'_>, now: i64) -> Result<Appended> {
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
            n.body
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

/// A live item and its body.
pub fn get(c: &Connection, folder_id: i64, uid: u32) -> Result<(Item, Vec<u8>)> {
    c.query_row(
        &format!(
            "SELECT {ITEM_COLS}, body FROM items WHERE folder_id = ?1 AND uid = ?2 AND deleted_at IS NULL"
        ),
        params![folder_id, uid],
        |r| Ok((item_row(r)?, r.get::<_, Vec<u8>>(15)?)),
    )
    .optional()?
    .ok_or(StorageError::NotFound)
}

/// A live groupware item by its iCalendar/vCard UID, with its body.
pub fn get_by_obj_uid(c: &Connection, folder_id: i64, obj_uid: &str) -> Result<(Item, Vec<u8>)> {
    c.query_row(
        &format!(
            "SELECT {ITEM_COLS}, body FROM items WHERE folder_id = ?1 AND obj_uid = ?2 AND deleted_at IS NULL"
        ),
        params![folder_id, obj_uid],
        |r| Ok((item_row(r)?, r.get::<_, Vec<u8>>(15)?)),
    )
    .optional()?
    .ok_or(StorageError::NotFound)
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

/// Soft-delete every item of the folder flagged `\Deleted` (IMAP EXPUNGE).
pub fn expunge(c: &mut Connection, folder_id: i64, now: i64) -> Result<Vec<u32>> {
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
    for it in flagged
        .iter()
        .filter(|it| it.flags.iter().any(|x| x == DELETED_FLAG))
    {
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

#[cfg(test)]
mod tests {
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
