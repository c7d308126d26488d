//! SQLite schema migrations, applied in order; `PRAGMA user_version` records
//! how many have run.

use rusqlite::Connection;

use super::{Result, StorageError};

const MIGRATIONS: &[&str] = &[
    // 1: directory objects, stores, folders, change log, attachments.
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE objects (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    login TEXT NOT NULL,
    fullname TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    admin_level INTEGER NOT NULL DEFAULT 0,
    nonactive INTEGER NOT NULL DEFAULT 0,
    hidden INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT,
    quota_override INTEGER NOT NULL DEFAULT 0,
    quota_warn INTEGER NOT NULL DEFAULT 0,
    quota_soft INTEGER NOT NULL DEFAULT 0,
    quota_hard INTEGER NOT NULL DEFAULT 0,
    features_enabled TEXT NOT NULL DEFAULT '',
    features_disabled TEXT NOT NULL DEFAULT '',
    last_logon INTEGER,
    last_logoff INTEGER,
    UNIQUE (source, external_id)
);
CREATE UNIQUE INDEX objects_login ON objects (kind, login COLLATE NOCASE);
CREATE TABLE members (
    group_id INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, member_id)
);
CREATE TABLE stores (
    id INTEGER PRIMARY KEY,
    guid BLOB NOT NULL UNIQUE,
    store_type INTEGER NOT NULL,
    owner_id INTEGER REFERENCES objects(id) ON DELETE SET NULL,
    owner_name TEXT NOT NULL DEFAULT '',
    root_folder INTEGER,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX stores_owner ON stores (owner_id, store_type) WHERE owner_id IS NOT NULL AND deleted = 0;
CREATE TABLE folders (
    id INTEGER PRIMARY KEY,
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES folders(id),
    name TEXT NOT NULL,
    container_class TEXT,
    role TEXT,
    uid_validity INTEGER NOT NULL,
    uid_next INTEGER NOT NULL DEFAULT 1,
    change_num INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX folders_role ON folders (store_id, role) WHERE role IS NOT NULL;
CREATE INDEX folders_parent ON folders (parent_id);
CREATE TABLE changes (
    change_num INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id INTEGER NOT NULL,
    object_type TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    change_type TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX changes_store ON changes (store_id, change_num);
CREATE TABLE attachments (
    hash TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    refcount INTEGER NOT NULL DEFAULT 0
);
INSERT INTO objects (id, kind, source, external_id, login, fullname, admin_level)
    VALUES (1, 'user', 'system', 'SYSTEM', 'SYSTEM', 'SYSTEM', 2);
INSERT INTO objects (id, kind, source, external_id, login, fullname)
    VALUES (2, 'group', 'system', 'Everyone', 'Everyone', 'Everyone');
"#,
    // 2: mailbox items (mail, calendar, contacts, tasks), change-log locations,
    // soft-delete timestamps on folders.
    r#"
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    folder_id INTEGER NOT NULL REFERENCES folders(id),
    uid INTEGER NOT NULL,
    kind TEXT NOT NULL,
    obj_uid TEXT,
    etag TEXT NOT NULL,
    size INTEGER NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    internal_date INTEGER NOT NULL,
    date INTEGER,
    from_addr TEXT NOT NULL DEFAULT '',
    to_addr TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    modseq INTEGER NOT NULL,
    deleted_at INTEGER,
    body BLOB NOT NULL
);
CREATE UNIQUE INDEX items_folder_uid ON items (folder_id, uid);
CREATE INDEX items_obj_uid ON items (folder_id, obj_uid) WHERE obj_uid IS NOT NULL;
CREATE INDEX items_deleted ON items (deleted_at) WHERE deleted_at IS NOT NULL;
ALTER TABLE changes ADD COLUMN folder_id INTEGER;
ALTER TABLE changes ADD COLUMN uid INTEGER;
ALTER TABLE folders ADD COLUMN deleted_at INTEGER;
"#,
    // 3: single-instance attachments. Large MIME part bodies of a mail item are
    // cut out of `items.body` (which then holds the skeleton) into files under
    // `attachment_path`; `item_segments` says where they go back. The
    // references are rows (not a counter alone) so that cascaded deletes of
    // items or stores drop them too; `attachments.refcount` follows them by
    // trigger, and a hash without rows is garbage. `folders.item_modseq` is
    // the highest change number of any item change in the folder
    // (tombstones included): IMAP HIGHESTMODSEQ; `items_live` counts a
    // folder's live items (IMAP EXISTS) from the index alone.
    r#"
CREATE TABLE item_segments (
    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    len INTEGER NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (item_id, seq)
);
CREATE INDEX item_segments_hash ON item_segments (hash);
CREATE TRIGGER item_segments_ref AFTER INSERT ON item_segments BEGIN
    UPDATE attachments SET refcount = refcount + 1 WHERE hash = NEW.hash;
END;
CREATE TRIGGER item_segments_unref AFTER DELETE ON item_segments BEGIN
    UPDATE attachments SET refcount = refcount - 1 WHERE hash = OLD.hash;
END;
CREATE INDEX items_live ON items (folder_id) WHERE deleted_at IS NULL;
CREATE INDEX folders_store ON folders (store_id);
ALTER TABLE folders ADD COLUMN item_modseq INTEGER NOT NULL DEFAULT 0;
UPDATE folders SET item_modseq = COALESCE((SELECT MAX(change_num) FROM changes
    WHERE changes.folder_id = folders.id AND changes.object_type = 'item'), 0);
"#,
    // 4: per-store properties (IMAP subscriptions and other client state
    // that must outlive a gateway process and be the same on every gateway).
    r#"
CREATE TABLE store_props (
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (store_id, name)
) WITHOUT ROWID;
"#,
];

/// Bring the database to the newest schema.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let target = MIGRATIONS.len() as i64;
    if version > target {
        return Err(StorageError::TooNew(version));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
