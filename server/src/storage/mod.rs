//! The node's persistent state behind one trait, so that a MySQL/MariaDB backend
//! can be added next to the embedded SQLite one.
//!
//! Layout (see `schema.rs`): `objects` (users, groups, companies; SYSTEM = 1,
//! Everyone = 2 as in KC), `members`, `stores`, `folders` (KC's standard set,
//! with UIDVALIDITY and a UID counter), `changes` (one monotonically increasing
//! change number per change, tombstones included) and `attachments`
//! (content-addressed files under `attachment_path`, referenced by
//! `item_segments`; see `segments.rs`, unreferenced ones go in `gc.rs`),
//! `items` (mail, calendar, contacts, tasks; see `items.rs` for why bodies
//! are BLOBs, `reads.rs` for reading them, `purge.rs` for removing
//! soft-deleted ones) and `store_props` (named per-store values; see
//! `props.rs`). Folder rows and writes are in `folders.rs`, user objects in
//! `objects.rs`, stores in `stores.rs`; store sizes, quota levels and the
//! hard-quota admission of every content-storing write in `quota.rs`.
//!
//! Durability: the connection runs with `synchronous = FULL`, so every write
//! below is on disk when it returns (LMTP acknowledges only after that).

pub mod attachments;
pub mod changes;
pub mod folders;
mod gc;
pub mod items;
pub mod notify;
mod objects;
pub mod props;
pub mod purge;
pub mod quota;
mod reads;
mod schema;
pub mod segments;
pub mod sqlite;
mod stores;
#[cfg(test)]
mod tests;

pub use changes::Change;
pub use folders::FolderStatus;
pub use items::{Appended, FlagOp, Item, ItemKind, NewItem};
pub use quota::{QuotaLevel, QuotaStatus};
pub use segments::{ItemBody, Piece};

use std::fmt;

/// Internal object id of the SYSTEM user (KC `KOPANO_UID_SYSTEM`).
pub const SYSTEM_ID: i64 = 1;
/// Internal object id of the Everyone group (KC `KOPANO_UID_EVERYONE`).
pub const EVERYONE_ID: i64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("object already exists")]
    Collision,
    #[error("object not found")]
    NotFound,
    /// The write would take the store above its hard quota; nothing was stored.
    #[error("store is over its hard quota")]
    OverQuota,
    #[error("database schema version {0} is newer than this program")]
    TooNew(i64),
}

pub type Result<T> = std::result::Result<T, StorageError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    User,
    Group,
    Company,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::Company => "company",
        }
    }

    pub fn parse(s: &str) -> Option<ObjectKind> {
        Some(match s {
            "user" => ObjectKind::User,
            "group" => ObjectKind::Group,
            "company" => ObjectKind::Company,
            _ => return None,
        })
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-user quota in bytes; 0 disables a level. Without `override_default`
/// the server.cfg defaults apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Quota {
    pub override_default: bool,
    pub warn: i64,
    pub soft: i64,
    pub hard: i64,
}

/// A user, group or company known to this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub id: i64,
    pub kind: ObjectKind,
    /// Which user plugin owns it: `db`, `ldap` or `system`.
    pub source: String,
    /// The plugin's unique id (the login for `db`, the unique attribute for LDAP).
    pub external_id: String,
    pub login: String,
    pub fullname: String,
    pub email: String,
    /// 0 none, 1 admin, 2 system admin.
    pub admin_level: u32,
    pub nonactive: bool,
    pub hidden: bool,
    pub quota: Quota,
    pub enabled_features: Vec<String>,
    pub disabled_features: Vec<String>,
    pub last_logon: Option<i64>,
    pub last_logoff: Option<i64>,
}

/// Values for creating an object or replacing its attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectData {
    pub login: String,
    pub fullname: String,
    pub email: String,
    pub admin_level: u32,
    pub nonactive: bool,
    pub hidden: bool,
}

/// Store types (KC `ECSTORE_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreType {
    Private = 0,
    Public = 1,
    Archive = 2,
}

impl StoreType {
    pub fn from_i64(v: i64) -> Option<StoreType> {
        Some(match v {
            0 => StoreType::Private,
            1 => StoreType::Public,
            2 => StoreType::Archive,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub id: i64,
    pub guid: [u8; 16],
    pub store_type: StoreType,
    /// `None` for an orphan (its user was deleted) or the public store.
    pub owner: Option<i64>,
    /// The owner's login when the store was created, kept for `--list-orphans`.
    pub owner_name: String,
    pub root_folder: i64,
    pub created: i64,
    pub modified: i64,
    pub size: i64,
}

/// A folder row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub id: i64,
    pub store_id: i64,
    pub parent: Option<i64>,
    pub name: String,
    pub container_class: Option<String>,
    /// Well-known role (`inbox`, `ipm_subtree`, …), unique per store.
    pub role: Option<String>,
    pub uid_validity: u32,
    pub uid_next: u32,
}

/// Everything the node keeps on disk. Implementations must be usable from
/// several threads; calls are short and synchronous (async callers wrap them
/// in `spawn_blocking`).
pub trait Storage: Send + Sync {
    /// This node's 16-byte server GUID, created with the database.
    fn server_guid(&self) -> Result<[u8; 16]>;

    fn object(&self, id: i64) -> Result<Option<Object>>;
    /// Case-insensitive login lookup.
    fn object_by_login(&self, kind: ObjectKind, login: &str) -> Result<Option<Object>>;
    fn object_by_external(&self, source: &str, external_id: &str) -> Result<Option<Object>>;
    fn objects(&self, kind: ObjectKind) -> Result<Vec<Object>>;
    /// Create; `Collision` when the login or external id is taken.
    fn create_object(
        &self,
        kind: ObjectKind,
        source: &str,
        external_id: &str,
        data: &ObjectData,
    ) -> Result<i64>;
    fn update_object(&self, id: i64, data: &ObjectData) -> Result<()>;
    /// Delete the object and its memberships; its stores become orphans.
    fn delete_object(&self, id: i64) -> Result<()>;

    fn password_hash(&self, id: i64) -> Result<Option<String>>;
    fn set_password_hash(&self, id: i64, hash: &str) -> Result<()>;
    fn set_quota(&self, id: i64, quota: &Quota) -> Result<()>;
    fn set_features(&self, id: i64, enabled: &[String], disabled: &[String]) -> Result<()>;
    fn record_logon(&self, id: i64, logon: bool, when: i64) -> Result<()>;

    fn add_member(&self, group: i64, member: i64) -> Result<()>;
    fn remove_member(&self, group: i64, member: i64) -> Result<()>;
    fn members(&self, group: i64) -> Result<Vec<Object>>;
    fn groups_of(&self, member: i64) -> Result<Vec<Object>>;

    fn store_of(&self, owner: i64, store_type: StoreType) -> Result<Option<Store>>;
    fn public_store(&self) -> Result<Option<Store>>;
    fn store_by_guid(&self, guid: &[u8; 16]) -> Result<Option<Store>>;
    /// Create a store with its standard folder set in one transaction.
    fn create_store(
        &self,
        store_type: StoreType,
        owner: Option<i64>,
        owner_name: &str,
    ) -> Result<Store>;
    fn orphan_stores(&self) -> Result<Vec<Store>>;
    fn folders(&self, store_id: i64) -> Result<Vec<Folder>>;
    /// The highest change number handed out so far.
    fn last_change(&self) -> Result<i64>;

    // ---- mailbox store (issue #6) -------------------------------------------

    fn store(&self, id: i64) -> Result<Option<Store>>;
    /// A live (not soft-deleted) folder.
    fn folder(&self, id: i64) -> Result<Option<Folder>>;
    /// `Collision` when the parent has a live folder of that name (case-insensitive).
    fn create_folder(
        &self,
        parent: i64,
        name: &str,
        container_class: Option<&str>,
    ) -> Result<Folder>;
    /// Rename (`name`) and/or move (`parent`, same store) a folder; returns the modseq.
    fn update_folder(&self, id: i64, name: Option<&str>, parent: Option<i64>) -> Result<i64>;
    /// Soft-delete a folder with its subtree and items; standard folders refuse.
    fn delete_folder(&self, id: i64) -> Result<i64>;

    // Writes that store content take `defaults`, server.cfg's quota for
    // owners without an override, and are admitted against the hard level
    // inside their transaction (`quota::admits`): `OverQuota` when refused,
    // and then nothing is stored.

    /// Append an item; the folder hands out the next UID.
    fn append_item(&self, folder: i64, item: &NewItem<'_>, defaults: &Quota) -> Result<Appended>;
    /// Append the same item to several folders (LMTP with many recipients)
    /// in one durable transaction, attachments stored once. Each folder is
    /// admitted on its own: `None` in its slot when its store is full; any
    /// other error stores nothing.
    fn append_item_many(
        &self,
        folders: &[i64],
        item: &NewItem<'_>,
        defaults: &Quota,
    ) -> Result<Vec<Option<Appended>>> {
        folders
            .iter()
            .map(|f| match self.append_item(*f, item, defaults) {
                Ok(a) => Ok(Some(a)),
                Err(StorageError::OverQuota) => Ok(None),
                Err(e) => Err(e),
            })
            .collect()
    }
    /// Live items with `uid > after_uid`, by UID, at most `limit`.
    fn list_items(&self, folder: i64, after_uid: u32, limit: usize) -> Result<Vec<Item>>;
    /// A live item with its byte-exact body.
    fn item(&self, folder: i64, uid: u32) -> Result<(Item, Vec<u8>)>;
    /// A live item with its body as pieces (skeleton slices and opened
    /// attachment files), for streaming without one in-memory copy.
    fn item_body(&self, folder: i64, uid: u32) -> Result<(Item, ItemBody)> {
        let (it, body) = self.item(folder, uid)?;
        Ok((it, ItemBody::inline(body)))
    }
    /// A live item with the header block of its body (up to and including
    /// the blank line; the whole body when there is none), read without the
    /// attachment files where the backend can.
    fn item_header(&self, folder: i64, uid: u32) -> Result<(Item, Vec<u8>)> {
        let (it, mut body) = self.item(folder, uid)?;
        let end = segments::header_end(&body).unwrap_or(body.len());
        body.truncate(end);
        Ok((it, body))
    }
    fn set_flags(
        &self,
        folder: i64,
        uids: &[u32],
        op: FlagOp,
        flags: &[String],
    ) -> Result<Vec<(u32, i64)>>;
    /// Returns `(old uid, new uid)` pairs; all or nothing.
    fn copy_items(
        &self,
        folder: i64,
        uids: &[u32],
        dest: i64,
        defaults: &Quota,
    ) -> Result<Vec<(u32, u32)>>;
    /// Returns `(old uid, new uid)` pairs; the old location gets a tombstone.
    /// A move adds nothing to the store: it is refused only when the store
    /// is already above its hard level.
    fn move_items(
        &self,
        folder: i64,
        uids: &[u32],
        dest: i64,
        defaults: &Quota,
    ) -> Result<Vec<(u32, u32)>>;
    /// Soft-delete items; returns the UIDs deleted.
    fn delete_items(&self, folder: i64, uids: &[u32]) -> Result<Vec<u32>>;
    /// Soft-delete the items flagged `\Deleted`; returns their UIDs.
    fn expunge(&self, folder: i64) -> Result<Vec<u32>>;
    /// As [`expunge`](Storage::expunge), limited to `uids` (IMAP UID EXPUNGE).
    fn expunge_uids(&self, folder: i64, uids: &[u32]) -> Result<Vec<u32>>;

    /// A live folder with its HIGHESTMODSEQ and live item count.
    fn folder_status(&self, id: i64) -> Result<Option<FolderStatus>>;
    /// [`folder_status`](Storage::folder_status) of every live folder of a store.
    fn folder_statuses(&self, store: i64) -> Result<Vec<FolderStatus>>;
    /// A receiver woken after each committed change of `store` (its value is
    /// the latest change number); `None` when the backend cannot signal.
    fn subscribe_changes(&self, _store: i64) -> Option<tokio::sync::watch::Receiver<i64>> {
        None
    }

    /// A groupware item by its iCalendar/vCard UID.
    fn object_item(&self, folder: i64, obj_uid: &str) -> Result<(Item, Vec<u8>)>;
    /// Create or replace a groupware item; `if_match` as HTTP If-Match (mismatch =
    /// `Collision`). Returns the state, the new ETag and whether it was created.
    #[allow(clippy::too_many_arguments)]
    fn put_object_item(
        &self,
        folder: i64,
        kind: ItemKind,
        obj_uid: &str,
        body: &[u8],
        if_match: Option<&str>,
        defaults: &Quota,
    ) -> Result<(Appended, String, bool)>;
    fn delete_object_item(&self, folder: i64, obj_uid: &str, if_match: Option<&str>)
        -> Result<i64>;

    /// Changes of a store above `since`, oldest first, at most `limit`.
    fn changes_since(&self, store: i64, since: i64, limit: usize) -> Result<Vec<Change>>;
    /// Remove items and folders soft-deleted before the Unix time `older_than`,
    /// and the attachment files nothing references any more.
    fn purge_softdeleted(&self, older_than: i64) -> Result<usize>;
    /// Remove attachment files no item references (done by every purge).
    fn gc_attachments(&self) -> Result<usize> {
        Ok(0)
    }

    /// Property `name` of `store` (see `props.rs`), if set.
    fn store_prop(&self, store: i64, name: &str) -> Result<Option<Vec<u8>>>;
    /// Set (`Some`) or remove (`None`) property `name` of `store`; durable
    /// on return.
    fn set_store_prop(&self, store: i64, name: &str, value: Option<&[u8]>) -> Result<()>;

    /// A store's size against its owner's (or the default) quota.
    fn quota_status(&self, store: i64, defaults: &Quota) -> Result<QuotaStatus> {
        let st = self.store(store)?.ok_or(StorageError::NotFound)?;
        let owner = match st.owner {
            Some(o) => self.object(o)?,
            None => None,
        };
        let q = quota::effective(owner.as_ref().map(|o| &o.quota), defaults);
        Ok(quota::status(st.size, &q))
    }
}
