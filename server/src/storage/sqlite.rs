//! The embedded SQLite backend: one database file per node, WAL mode.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};

use super::attachments::AttachmentDir;
use super::folders;
use super::notify::Notifier;
use super::{
    changes, gc, items, objects, props, purge, quota, reads, schema, stores, Appended, Change,
    FlagOp, Folder, FolderStatus, Item, ItemBody, ItemKind, NewItem, Object, ObjectData,
    ObjectKind, Quota, QuotaStatus, Result, Storage, StorageError, Store, StoreType,
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

pub(super) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
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
            let n = gc::gc_attachments(&mut c, Some(&att))?;
            let swept = att.sweep(|h| gc::attachment_known(&c, h).unwrap_or(true))?;
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
        objects::get(&self.conn.lock(), id)
    }

    fn object_by_login(&self, kind: ObjectKind, login: &str) -> Result<Option<Object>> {
        objects::by_login(&self.conn.lock(), kind, login)
    }

    fn object_by_external(&self, source: &str, external_id: &str) -> Result<Option<Object>> {
        objects::by_external(&self.conn.lock(), source, external_id)
    }

    fn objects(&self, kind: ObjectKind) -> Result<Vec<Object>> {
        objects::list(&self.conn.lock(), kind)
    }

    fn create_object(
        &self,
        kind: ObjectKind,
        source: &str,
        external_id: &str,
        d: &ObjectData,
    ) -> Result<i64> {
        objects::create(&self.conn.lock(), kind, source, external_id, d)
    }

    fn update_object(&self, id: i64, d: &ObjectData) -> Result<()> {
        objects::update(&self.conn.lock(), id, d)
    }

    fn delete_object(&self, id: i64) -> Result<()> {
        objects::delete(&mut self.conn.lock(), id)
    }

    fn password_hash(&self, id: i64) -> Result<Option<String>> {
        objects::password_hash(&self.conn.lock(), id)
    }

    fn set_password_hash(&self, id: i64, hash: &str) -> Result<()> {
        objects::set_password_hash(&self.conn.lock(), id, hash)
    }

    fn set_quota(&self, id: i64, q: &Quota) -> Result<()> {
        objects::set_quota(&self.conn.lock(), id, q)
    }

    fn set_features(&self, id: i64, enabled: &[String], disabled: &[String]) -> Result<()> {
        objects::set_features(&self.conn.lock(), id, enabled, disabled)
    }

    fn record_logon(&self, id: i64, logon: bool, when: i64) -> Result<()> {
        objects::record_logon(&self.conn.lock(), id, logon, when)
    }

    fn add_member(&self, group: i64, member: i64) -> Result<()> {
        objects::add_member(&self.conn.lock(), group, member)
    }

    fn remove_member(&self, group: i64, member: i64) -> Result<()> {
        objects::remove_member(&self.conn.lock(), group, member)
    }

    fn members(&self, group: i64) -> Result<Vec<Object>> {
        objects::members(&self.conn.lock(), group)
    }

    fn groups_of(&self, member: i64) -> Result<Vec<Object>> {
        objects::groups_of(&self.conn.lock(), member)
    }

    fn store_of(&self, owner: i64, store_type: StoreType) -> Result<Option<Store>> {
        stores::of_owner(&self.conn.lock(), owner, store_type)
    }

    fn public_store(&self) -> Result<Option<Store>> {
        stores::public(&self.conn.lock())
    }

    fn store_by_guid(&self, guid: &[u8; 16]) -> Result<Option<Store>> {
        stores::by_guid(&self.conn.lock(), guid)
    }

    fn create_store(
        &self,
        store_type: StoreType,
        owner: Option<i64>,
        owner_name: &str,
    ) -> Result<Store> {
        self.write(|c, _| stores::create(c, store_type, owner, owner_name))
    }

    fn orphan_stores(&self) -> Result<Vec<Store>> {
        stores::orphans(&self.conn.lock())
    }

    fn folders(&self, store_id: i64) -> Result<Vec<Folder>> {
        folders::of_store(&self.conn.lock(), store_id)
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
        stores::get(&self.conn.lock(), id)
    }

    fn folder(&self, id: i64) -> Result<Option<Folder>> {
        folders::folder(&self.conn.lock(), id)
    }

    fn create_folder(&self, parent: i64, name: &str, class: Option<&str>) -> Result<Folder> {
        self.write(|c, _| folders::create_folder(c, parent, name, class, now()))
    }

    fn update_folder(&self, id: i64, name: Option<&str>, parent: Option<i64>) -> Result<i64> {
        self.write(|c, _| folders::update_folder(c, id, name, parent, now()))
    }

    fn delete_folder(&self, id: i64) -> Result<i64> {
        self.write(|c, _| folders::delete_folder(c, id, now()))
    }

    fn append_item(&self, folder: i64, item: &NewItem<'_>, defaults: &Quota) -> Result<Appended> {
        self.write(|c, att| items::append(c, att, folder, item, defaults, now()))
    }

    fn append_item_many(
        &self,
        folders: &[i64],
        item: &NewItem<'_>,
        defaults: &Quota,
    ) -> Result<Vec<Option<Appended>>> {
        self.write(|c, att| items::append_many(c, att, folders, item, defaults, now()))
    }

    fn list_items(&self, folder: i64, after_uid: u32, limit: usize) -> Result<Vec<Item>> {
        reads::list(&self.conn.lock(), folder, after_uid, limit)
    }

    fn item(&self, folder: i64, uid: u32) -> Result<(Item, Vec<u8>)> {
        reads::get(&self.conn.lock(), self.attachments.as_ref(), folder, uid)
    }

    fn item_body(&self, folder: i64, uid: u32) -> Result<(Item, ItemBody)> {
        reads::get_body(&self.conn.lock(), self.attachments.as_ref(), folder, uid)
    }

    fn item_header(&self, folder: i64, uid: u32) -> Result<(Item, Vec<u8>)> {
        reads::get_header(&self.conn.lock(), self.attachments.as_ref(), folder, uid)
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

    fn copy_items(
        &self,
        folder: i64,
        uids: &[u32],
        dest: i64,
        defaults: &Quota,
    ) -> Result<Vec<(u32, u32)>> {
        self.write(|c, _| items::copy(c, folder, uids, dest, defaults, now()))
    }

    fn move_items(
        &self,
        folder: i64,
        uids: &[u32],
        dest: i64,
        defaults: &Quota,
    ) -> Result<Vec<(u32, u32)>> {
        self.write(|c, _| items::move_items(c, folder, uids, dest, defaults, now()))
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
        folders::folder_status(&self.conn.lock(), id)
    }

    fn folder_statuses(&self, store: i64) -> Result<Vec<FolderStatus>> {
        folders::folder_statuses(&self.conn.lock(), store)
    }

    fn subscribe_changes(&self, store: i64) -> Option<tokio::sync::watch::Receiver<i64>> {
        Some(self.notifier.subscribe(store))
    }

    fn object_item(&self, folder: i64, obj_uid: &str) -> Result<(Item, Vec<u8>)> {
        reads::get_by_obj_uid(
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
        defaults: &Quota,
    ) -> Result<(Appended, String, bool)> {
        self.write(|c, _| {
            items::put_object(c, folder, kind, obj_uid, body, if_match, defaults, now())
        })
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
            let n = purge::purge_softdeleted(c, older_than, now())?;
            gc::gc_attachments(c, att)?;
            Ok(n)
        })
    }

    fn gc_attachments(&self) -> Result<usize> {
        self.write(gc::gc_attachments)
    }

    fn quota_status(&self, store: i64, defaults: &Quota) -> Result<QuotaStatus> {
        let (size, limits) = quota::size_and_limits(&self.conn.lock(), store, defaults)?;
        Ok(quota::status(size, &limits))
    }

    fn store_prop(&self, store: i64, name: &str) -> Result<Option<Vec<u8>>> {
        props::get(&self.conn.lock(), store, name)
    }

    fn set_store_prop(&self, store: i64, name: &str, value: Option<&[u8]>) -> Result<()> {
        props::set(&self.conn.lock(), store, name, value)
    }
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
