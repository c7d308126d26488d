//! The embedded SQLite backend: one database file per node, WAL mode.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::attachments::AttachmentDir;
use super::folders::{self, FolderSpec};
use super::notify::Notifier;
use super::{
    changes, items, props, schema, Appended, Change, FlagOp, Folder, FolderStatus, Item, ItemBody,
    ItemKind, NewItem, Object, ObjectData, ObjectKind, Quota, Result, Storage, StorageError, Store,
    StoreType,
};

pub struct SqliteStorage {
    conn: Mutex<Connection>,
    /// Where large MIME part bodies go (`attachment_path`); `None` keeps
    /// every body whole in the database (`attachment_storage = database`).
    attachments: Option<AttachmentDir>,
    notifier: Notifier,
    /// The highest change number already signalled (written under `conn`).
    signalled: AtomicI64,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn split_words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

const OBJECT_COLS: &str = "id, kind, source, external_id, login, fullname, email, admin_level, \
     nonactive, hidden, quota_override, quota_warn, quota_soft, quota_hard, features_enabled, \
     features_disabled, last_logon, last_logoff";

fn object_row(r: &Row<'_>) -> rusqlite::Result<Object> {
    let kind: String = r.get(1)?;
    Ok(Object {
        id: r.get(0)?,
        kind: ObjectKind::parse(&kind).unwrap_or(ObjectKind::User),
        source: r.get(2)?,
        external_id: r.get(3)?,
        login: r.get(4)?,
        fullname: r.get(5)?,
        email: r.get(6)?,
        admin_level: r.get::<_, i64>(7)?.clamp(0, 2) as u32,
        nonactive: r.get(8)?,
        hidden: r.get(9)?,
        quota: Quota {
            override_default: r.get(10)?,
            warn: r.get(11)?,
            soft: r.get(12)?,
            hard: r.get(13)?,
        },
        enabled_features: split_words(&r.get::<_, String>(14)?),
        disabled_features: split_words(&r.get::<_, String>(15)?),
        last_logon: r.get(16)?,
        last_logoff: r.get(17)?,
    })
}

const STORE_COLS: &str =
    "id, guid, store_type, owner_id, owner_name, root_folder, created, modified, size";

fn store_row(r: &Row<'_>) -> rusqlite::Result<Store> {
    let guid: Vec<u8> = r.get(1)?;
    let mut g = [0u8; 16];
    if guid.len() == 16 {
        g.copy_from_slice(&guid);
    }
    Ok(Store {
        id: r.get(0)?,
        guid: g,
        store_type: StoreType::from_i64(r.get(2)?).unwrap_or(StoreType::Private),
        owner: r.get(3)?,
        owner_name: r.get(4)?,
        root_folder: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
        created: r.get(6)?,
        modified: r.get(7)?,
        size: r.get(8)?,
    })
}

fn map_unique(e: rusqlite::Error) -> StorageError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StorageError::Collision
        }
        _ => StorageError::Sqlite(e),
    }
}

impl SqliteStorage {
    /// Open (creating on first start) the database and bring its schema up to
    /// date; every body stays in the database.
    pub fn open(path: &Path) -> Result<SqliteStorage> {
        Self::open_with_attachments(path, None)
    }

    /// As [`open`](Self::open), keeping large MIME part bodies once per
    /// content hash as files under `attachments` (server.cfg
    /// `attachment_path` with `attachment_storage = files`). Removes leftover
    /// temporary and unreferenced attachment files.
    pub fn open_with_attachments(path: &Path, attachments: Option<&Path>) -> Result<SqliteStorage> {
        let s = Self::open_plain(path)?;
        s.with_attachments(attachments)
    }

    /// A private in-memory database with an attachment directory, for tests.
    pub fn in_memory_with_attachments(attachments: &Path) -> Result<SqliteStorage> {
        Self::in_memory()?.with_attachments(Some(attachments))
    }

    fn with_attachments(mut self, dir: Option<&Path>) -> Result<SqliteStorage> {
        let Some(dir) = dir else {
            return Ok(self);
        };
        let att = AttachmentDir::new(dir)?;
        {
            let mut c = self.conn.lock();
            let n = items::gc_attachments(&mut c, Some(&att))?;
            let swept = att.sweep(|h| items::attachment_known(&c, h).unwrap_or(true))?;
            if n + swept > 0 {
                tracing::info!(
                    unreferenced = n,
                    orphan_files = swept,
                    "removed stale attachment files"
                );
            }
        }
        self.attachments = Some(att);
        Ok(self)
    }

    fn open_plain(path: &Path) -> Result<SqliteStorage> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|source| StorageError::Io {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
        }
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// The raw connection, for tests that look at tables directly.
    #[cfg(test)]
    pub(crate) fn conn_for_tests(&self) -> parking_lot::MutexGuard<'_, Connection> {
        self.conn.lock()
    }

    /// A private in-memory database, for tests.
    pub fn in_memory() -> Result<SqliteStorage> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<SqliteStorage> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // FULL: a commit is fsynced before it returns, so an appended message
        // is durable before LMTP acknowledges it (NORMAL in WAL mode may lose
        // the last commits on power failure).
        conn.pragma_update(None, "synchronous", "FULL")?;
        schema::migrate(&mut conn)?;
        let have: Option<Vec<u8>> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'server_guid'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if have.is_none() {
            let mut g = [0u8; 16];
            rand::rng().fill_bytes(&mut g);
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('server_guid', ?1)",
                params![&g[..]],
            )?;
        }
        let last: i64 = conn.query_row(
            "SELECT COALESCE(MAX(change_num), 0) FROM changes",
            [],
            |r| r.get(0),
        )?;
        Ok(SqliteStorage {
            conn: Mutex::new(conn),
            attachments: None,
            notifier: Notifier::default(),
            signalled: AtomicI64::new(last),
        })
    }

    /// Run a write under the connection lock, then wake the long-pollers of
    /// every store it changed (all writers pass here: API, LMTP, admin).
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection, Option<&AttachmentDir>) -> Result<T>,
    ) -> Result<T> {
        let mut c = self.conn.lock();
        let r = f(&mut c, self.attachments.as_ref());
        if r.is_ok() {
            if let Err(e) = self.signal(&c) {
                tracing::warn!(error = %e, "cannot signal store changes");
            }
        }
        r
    }

    fn signal(&self, c: &Connection) -> Result<()> {
        let from = self.signalled.load(Ordering::Relaxed);
        if !self.notifier.has_waiters() {
            let last: i64 = c.query_row(
                "SELECT COALESCE(MAX(change_num), 0) FROM changes",
                [],
                |r| r.get(0),
            )?;
            self.signalled.store(last.max(from), Ordering::Relaxed);
            return Ok(());
        }
        // A rowid range (the few rows of this write), grouped here: with
        // GROUP BY the planner would scan the whole change log.
        let mut st = c.prepare_cached(
            "SELECT store_id, change_num FROM changes WHERE change_num > ?1 ORDER BY change_num",
        )?;
        let rows = st.query_map(params![from], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut latest = std::collections::HashMap::new();
        let mut top = from;
        for row in rows {
            let (store, m) = row?;
            top = top.max(m);
            latest.insert(store, m);
        }
        for (store, m) in latest {
            self.notifier.notify(store, m);
        }
        self.signalled.store(top, Ordering::Relaxed);
        Ok(())
    }

    fn create_folders(
        tx: &rusqlite::Transaction<'_>,
        store_id: i64,
        set: &[FolderSpec],
    ) -> Result<i64> {
        let mut ids: Vec<i64> = Vec::with_capacity(set.len());
        let validity = (now() as u32).max(1);
        for spec in set {
            let parent = spec.parent.and_then(|p| ids.get(p).copied());
            tx.execute(
                "INSERT INTO folders (store_id, parent_id, name, container_class, role, uid_validity) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![store_id, parent, spec.name, spec.container_class, spec.role, validity],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO changes (store_id, object_type, object_id, change_type, at) \
                 VALUES (?1, 'folder', ?2, 'new', ?3)",
                params![store_id, id, now()],
            )?;
            let cn = tx.last_insert_rowid();
            tx.execute(
                "UPDATE folders SET change_num = ?1 WHERE id = ?2",
                params![cn, id],
            )?;
            ids.push(id);
        }
        ids.first().copied().ok_or(StorageError::NotFound)
    }
}

impl Storage for SqliteStorage {
    fn server_guid(&self) -> Result<[u8; 16]> {
        let c = self.conn.lock();
        let v: Vec<u8> = c.query_row(
            "SELECT value FROM meta WHERE key = 'server_guid'",
            [],
            |r| r.get(0),
        )?;
        let mut g = [0u8; 16];
        if v.len() == 16 {
            g.copy_from_slice(&v);
        }
        Ok(g)
    }

    fn object(&self, id: i64) -> Result<Option<Object>> {
        let c = self.conn.lock();
        Ok(c.query_row(
            &format!("SELECT {OBJECT_COLS} FROM objects WHERE id = ?1"),
            params![id],
            object_row,
        )
        .optional()?)
    }

    fn object_by_login(&self, kind: ObjectKind, login: &str) -> Result<Option<Object>> {
        let c = self.conn.lock();
        Ok(c.query_row(
            &format!(
                "SELECT {OBJECT_COLS} FROM objects WHERE kind = ?1 AND login = ?2 COLLATE NOCASE"
            ),
            params![kind.as_str(), login],
            object_row,
        )
        .optional()?)
    }

    fn object_by_external(&self, source: &str, external_id: &str) -> Result<Option<Object>> {
        let c = self.conn.lock();
        Ok(c.query_row(
            &format!("SELECT {OBJECT_COLS} FROM objects WHERE source = ?1 AND external_id = ?2"),
            params![source, external_id],
            object_row,
        )
        .optional()?)
    }

    fn objects(&self, kind: ObjectKind) -> Result<Vec<Object>> {
        let c = self.conn.lock();
        let mut st = c.prepare(&format!(
            "SELECT {OBJECT_COLS} FROM objects WHERE kind = ?1 ORDER BY id"
        ))?;
        let rows = st.query_map(params![kind.as_str()], object_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn create_object(
        &self,
        kind: ObjectKind,
        source: &str,
        external_id: &str,
        d: &ObjectData,
    ) -> Result<i64> {
        let c = self.conn.lock();
        c.execute(
            "INSERT INTO objects (kind, source, external_id, login, fullname, email, admin_level, nonactive, hidden) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                kind.as_str(),
                source,
                external_id,
                d.login,
                d.fullname,
                d.email,
                d.admin_level,
                d.nonactive,
                d.hidden
            ],
        )
        .map_err(map_unique)?;
        Ok(c.last_insert_rowid())
    }

    fn update_object(&self, id: i64, d: &ObjectData) -> Result<()> {
        let c = self.conn.lock();
        let n = c
            .execute(
                "UPDATE objects SET login = ?2, fullname = ?3, email = ?4, admin_level = ?5, \
                 nonactive = ?6, hidden = ?7 WHERE id = ?1",
                params![
                    id,
                    d.login,
                    d.fullname,
                    d.email,
                    d.admin_level,
                    d.nonactive,
                    d.hidden
                ],
            )
            .map_err(map_unique)?;
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    fn delete_object(&self, id: i64) -> Result<()> {
        let mut c = self.conn.lock();
        let tx = c.transaction()?;
        // ON DELETE SET NULL turns the user's stores into orphans.
        let n = tx.execute("DELETE FROM objects WHERE id = ?1", params![id])?;
        tx.commit()?;
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    fn password_hash(&self, id: i64) -> Result<Option<String>> {
        let c = self.conn.lock();
        Ok(c.query_row(
            "SELECT password_hash FROM objects WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
    }

    fn set_password_hash(&self, id: i64, hash: &str) -> Result<()> {
        let c = self.conn.lock();
        c.execute(
            "UPDATE objects SET password_hash = ?2 WHERE id = ?1",
            params![id, hash],
        )?;
        Ok(())
    }

    fn set_quota(&self, id: i64, q: &Quota) -> Result<()> {
        let c = self.conn.lock();
        c.execute(
            "UPDATE objects SET quota_override = ?2, quota_warn = ?3, quota_soft = ?4, quota_hard = ?5 WHERE id = ?1",
            params![id, q.override_default, q.warn, q.soft, q.hard],
        )?;
        Ok(())
    }

    fn set_features(&self, id: i64, enabled: &[String], disabled: &[String]) -> Result<()> {
        let c = self.conn.lock();
        c.execute(
            "UPDATE objects SET features_enabled = ?2, features_disabled = ?3 WHERE id = ?1",
            params![id, enabled.join(" "), disabled.join(" ")],
        )?;
        Ok(())
    }

    fn record_logon(&self, id: i64, logon: bool, when: i64) -> Result<()> {
        let c = self.conn.lock();
        let sql = if logon {
            "UPDATE objects SET last_logon = ?2 WHERE id = ?1"
        } else {
            "UPDATE objects SET last_logoff = ?2 WHERE id = ?1"
        };
        c.execute(sql, params![id, when])?;
        Ok(())
    }

    fn add_member(&self, group: i64, member: i64) -> Result<()> {
        let c = self.conn.lock();
        c.execute(
            "INSERT INTO members (group_id, member_id) VALUES (?1, ?2)",
            params![group, member],
        )
        .map_err(map_unique)?;
        Ok(())
    }

    fn remove_member(&self, group: i64, member: i64) -> Result<()> {
        let c = self.conn.lock();
        let n = c.execute(
            "DELETE FROM members WHERE group_id = ?1 AND member_id = ?2",
            params![group, member],
        )?;
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    fn members(&self, group: i64) -> Result<Vec<Object>> {
        let c = self.conn.lock();
        let cols = OBJECT_COLS
            .split(", ")
            .map(|col| format!("o.{}", col.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut st = c.prepare(&format!(
            "SELECT {cols} FROM objects o JOIN members m ON m.member_id = o.id WHERE m.group_id = ?1 ORDER BY o.login"
        ))?;
        let rows = st.query_map(params![group], object_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn groups_of(&self, member: i64) -> Result<Vec<Object>> {
        let c = self.conn.lock();
        let cols = OBJECT_COLS
            .split(", ")
            .map(|col| format!("o.{}", col.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut st = c.prepare(&format!(
            "SELECT {cols} FROM objects o JOIN members m ON m.group_id = o.id WHERE m.member_id = ?1 ORDER BY o.login"
        ))?;
        let rows = st.query_map(params![member], object_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn store_of(&self, owner: i64, store_type: StoreType) -> Result<Option<Store>> {
        let c = self.conn.lock();
        Ok(c.query_row(
            &format!(
                "SELECT {STORE_COLS} FROM stores WHERE owner_id = ?1 AND store_type = ?2 AND deleted = 0"
            ),
            params![owner, store_type as i64],
            store_row,
        )
        .optional()?)
    }

    fn public_store(&self) -> Result<Option<Store>> {
        let c = self.conn.lock();
        Ok(c.query_row(
            &format!(
                "SELECT {STORE_COLS} FROM stores WHERE store_type = 1 AND deleted = 0 ORDER BY id LIMIT 1"
            ),
            [],
            store_row,
        )
        .optional()?)
    }

    fn store_by_guid(&self, guid: &[u8; 16]) -> Result<Option<Store>> {
        let c = self.conn.lock();
        Ok(c.query_row(
            &format!("SELECT {STORE_COLS} FROM stores WHERE guid = ?1 AND deleted = 0"),
            params![&guid[..]],
            store_row,
        )
        .optional()?)
    }

    fn create_store(
        &self,
        store_type: StoreType,
        owner: Option<i64>,
        owner_name: &str,
    ) -> Result<Store> {
        self.write(|c, _| create_store_tx(c, store_type, owner, owner_name))
    }

    fn orphan_stores(&self) -> Result<Vec<Store>> {
        let c = self.conn.lock();
        let mut st = c.prepare(&format!(
            "SELECT {STORE_COLS} FROM stores WHERE owner_id IS NULL AND store_type != 1 AND deleted = 0 ORDER BY id"
        ))?;
        let rows = st.query_map([], store_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn folders(&self, store_id: i64) -> Result<Vec<Folder>> {
        let c = self.conn.lock();
        let mut st = c.prepare(
            "SELECT id, store_id, parent_id, name, container_class, role, uid_validity, uid_next \
             FROM folders WHERE store_id = ?1 AND deleted = 0 ORDER BY id",
        )?;
        let rows = st.query_map(params![store_id], |r| {
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
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn last_change(&self) -> Result<i64> {
        let c = self.conn.lock();
        Ok(c.query_row(
            "SELECT COALESCE(MAX(change_num), 0) FROM changes",
            [],
            |r| r.get(0),
        )?)
    }

    fn store(&self, id: i64) -> Result<Option<Store>> {
        let c = self.conn.lock();
        Ok(c.query_row(
            &format!("SELECT {STORE_COLS} FROM stores WHERE id = ?1 AND deleted = 0"),
            params![id],
            store_row,
        )
        .optional()?)
    }

    fn folder(&self, id: i64) -> Result<Option<Folder>> {
        items::folder(&self.conn.lock(), id)
    }

    fn create_folder(&self, parent: i64, name: &str, class: Option<&str>) -> Result<Folder> {
        self.write(|c, _| items::create_folder(c, parent, name, class, now()))
    }

    fn update_folder(&self, id: i64, name: Option<&str>, parent: Option<i64>) -> Result<i64> {
        self.write(|c, _| items::update_folder(c, id, name, parent, now()))
    }

    fn delete_folder(&self, id: i64) -> Result<i64> {
        self.write(|c, _| items::delete_folder(c, id, now()))
    }

    fn append_item(&self, folder: i64, item: &NewItem<'_>) -> Result<Appended> {
        self.write(|c, att| items::append(c, att, folder, item, now()))
    }

    fn append_item_many(&self, folders: &[i64], item: &NewItem<'_>) -> Result<Vec<Appended>> {
        self.write(|c, att| items::append_many(c, att, folders, item, now()))
    }

    fn list_items(&self, folder: i64, after_uid: u32, limit: usize) -> Result<Vec<Item>> {
        items::list(&self.conn.lock(), folder, after_uid, limit)
    }

    fn item(&self, folder: i64, uid: u32) -> Result<(Item, Vec<u8>)> {
        items::get(&self.conn.lock(), self.attachments.as_ref(), folder, uid)
    }

    fn item_body(&self, folder: i64, uid: u32) -> Result<(Item, ItemBody)> {
        items::get_body(&self.conn.lock(), self.attachments.as_ref(), folder, uid)
    }

    fn item_header(&self, folder: i64, uid: u32) -> Result<(Item, Vec<u8>)> {
        items::get_header(&self.conn.lock(), self.attachments.as_ref(), folder, uid)
    }

    fn set_flags(
        &self,
        folder: i64,
        uids: &[u32],
        op: FlagOp,
        flags: &[String],
    ) -> Result<Vec<(u32, i64)>> {
        self.write(|c, _| items::set_flags(c, folder, uids, op, flags, now()))
    }

    fn copy_items(&self, folder: i64, uids: &[u32], dest: i64) -> Result<Vec<(u32, u32)>> {
        self.write(|c, _| items::copy(c, folder, uids, dest, now()))
    }

    fn move_items(&self, folder: i64, uids: &[u32], dest: i64) -> Result<Vec<(u32, u32)>> {
        self.write(|c, _| items::move_items(c, folder, uids, dest, now()))
    }

    fn delete_items(&self, folder: i64, uids: &[u32]) -> Result<Vec<u32>> {
        self.write(|c, _| items::delete(c, folder, uids, now()))
    }

    fn expunge(&self, folder: i64) -> Result<Vec<u32>> {
        self.write(|c, _| items::expunge(c, folder, None, now()))
    }

    fn expunge_uids(&self, folder: i64, uids: &[u32]) -> Result<Vec<u32>> {
        self.write(|c, _| items::expunge(c, folder, Some(uids), now()))
    }

    fn folder_status(&self, id: i64) -> Result<Option<FolderStatus>> {
        items::folder_status(&self.conn.lock(), id)
    }

    fn folder_statuses(&self, store: i64) -> Result<Vec<FolderStatus>> {
        items::folder_statuses(&self.conn.lock(), store)
    }

    fn subscribe_changes(&self, store: i64) -> Option<tokio::sync::watch::Receiver<i64>> {
        Some(self.notifier.subscribe(store))
    }

    fn object_item(&self, folder: i64, obj_uid: &str) -> Result<(Item, Vec<u8>)> {
        items::get_by_obj_uid(
            &self.conn.lock(),
            self.attachments.as_ref(),
            folder,
            obj_uid,
        )
    }

    fn put_object_item(
        &self,
        folder: i64,
        kind: ItemKind,
        obj_uid: &str,
        body: &[u8],
        if_match: Option<&str>,
    ) -> Result<(Appended, String, bool)> {
        self.write(|c, _| items::put_object(c, folder, kind, obj_uid, body, if_match, now()))
    }

    fn delete_object_item(
        &self,
        folder: i64,
        obj_uid: &str,
        if_match: Option<&str>,
    ) -> Result<i64> {
        self.write(|c, _| items::delete_object(c, folder, obj_uid, if_match, now()))
    }

    fn changes_since(&self, store: i64, since: i64, limit: usize) -> Result<Vec<Change>> {
        changes::since(&self.conn.lock(), store, since, limit)
    }

    fn purge_softdeleted(&self, older_than: i64) -> Result<usize> {
        self.write(|c, att| {
            let n = items::purge_softdeleted(c, older_than, now())?;
            items::gc_attachments(c, att)?;
            Ok(n)
        })
    }

    fn gc_attachments(&self) -> Result<usize> {
        self.write(items::gc_attachments)
    }

    fn store_prop(&self, store: i64, name: &str) -> Result<Option<Vec<u8>>> {
        props::get(&self.conn.lock(), store, name)
    }

    fn set_store_prop(&self, store: i64, name: &str, value: Option<&[u8]>) -> Result<()> {
        props::set(&self.conn.lock(), store, name, value)
    }
}

/// Create a store and its standard folders in one transaction.
fn create_store_tx(
    c: &mut Connection,
    store_type: StoreType,
    owner: Option<i64>,
    owner_name: &str,
) -> Result<Store> {
    let tx = c.transaction()?;
    if store_type == StoreType::Public {
        let exists: i64 = tx.query_row(
            "SELECT COUNT(*) FROM stores WHERE store_type = 1 AND deleted = 0",
            [],
            |r| r.get(0),
        )?;
        if exists > 0 {
            return Err(StorageError::Collision);
        }
    }
    let mut guid = [0u8; 16];
    rand::rng().fill_bytes(&mut guid);
    let t = now();
    tx.execute(
        "INSERT INTO stores (guid, store_type, owner_id, owner_name, created, modified) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![&guid[..], store_type as i64, owner, owner_name, t],
    )
    .map_err(map_unique)?;
    let store_id = tx.last_insert_rowid();
    let set = match store_type {
        StoreType::Public => folders::PUBLIC,
        _ => folders::PRIVATE,
    };
    let root = SqliteStorage::create_folders(&tx, store_id, set)?;
    tx.execute(
        "UPDATE stores SET root_folder = ?1 WHERE id = ?2",
        params![root, store_id],
    )?;
    tx.commit()?;
    Ok(Store {
        id: store_id,
        guid,
        store_type,
        owner,
        owner_name: owner_name.to_owned(),
        root_folder: root,
        created: t,
        modified: t,
        size: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(login: &str) -> ObjectData {
        ObjectData {
            login: login.into(),
            fullname: format!("{login} full"),
            email: format!("{login}@example.org"),
            ..Default::default()
        }
    }

    #[test]
    fn builtins_and_users() {
        let s = SqliteStorage::in_memory().unwrap();
        let sys = s
            .object_by_login(ObjectKind::User, "system")
            .unwrap()
            .unwrap();
        assert_eq!(sys.id, super::super::SYSTEM_ID);
        let id = s
            .create_object(ObjectKind::User, "db", "john", &data("john"))
            .unwrap();
        assert!(matches!(
            s.create_object(ObjectKind::User, "db", "JOHN2", &data("John")),
            Err(StorageError::Collision)
        ));
        assert_eq!(
            s.object_by_login(ObjectKind::User, "JOHN")
                .unwrap()
                .unwrap()
                .id,
            id
        );
        let g = s
            .create_object(ObjectKind::Group, "db", "sales", &data("sales"))
            .unwrap();
        s.add_member(g, id).unwrap();
        assert_eq!(s.members(g).unwrap()[0].login, "john");
        assert_eq!(s.groups_of(id).unwrap()[0].login, "sales");
        s.set_features(id, &["imap".into()], &["pop3".into()])
            .unwrap();
        let o = s.object(id).unwrap().unwrap();
        assert_eq!(o.enabled_features, vec!["imap"]);
        assert_eq!(o.disabled_features, vec!["pop3"]);
    }

    #[test]
    fn stores_folders_orphans_and_migration_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kc.db");
        let guid;
        {
            let s = SqliteStorage::open(&path).unwrap();
            guid = s.server_guid().unwrap();
            let id = s
                .create_object(ObjectKind::User, "db", "john", &data("john"))
                .unwrap();
            let st = s
                .create_store(StoreType::Private, Some(id), "john")
                .unwrap();
            let f = s.folders(st.id).unwrap();
            assert_eq!(f.len(), folders::PRIVATE.len());
            let inbox = f
                .iter()
                .find(|x| x.role.as_deref() == Some("inbox"))
                .unwrap();
            assert_eq!(inbox.container_class.as_deref(), Some("IPF.Note"));
            assert!(s.last_change().unwrap() >= f.len() as i64);
            assert!(s
                .create_store(StoreType::Private, Some(id), "john")
                .is_err());
            s.create_store(StoreType::Public, None, "").unwrap();
            assert!(matches!(
                s.create_store(StoreType::Public, None, ""),
                Err(StorageError::Collision)
            ));
            s.delete_object(id).unwrap();
            let orphans = s.orphan_stores().unwrap();
            assert_eq!(orphans.len(), 1);
            assert_eq!(orphans[0].owner_name, "john");
        }
        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(s.server_guid().unwrap(), guid);
        assert!(s.public_store().unwrap().is_some());
    }
}
