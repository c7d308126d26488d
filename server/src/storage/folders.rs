//! Folders: KC's standard sets created with a store, the folder rows, the
//! hierarchy writes (create, rename/move, soft delete with the subtree) and
//! the per-folder counters (HIGHESTMODSEQ, live item count).

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::changes::record;
use super::items::{item_row, soft_delete_item, ITEM_COLS};
use super::{Folder, Result, StorageError};

/// One folder of a template: `parent` indexes an earlier entry (None = store root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderSpec {
    pub role: &'static str,
    pub name: &'static str,
    pub container_class: Option<&'static str>,
    pub parent: Option<usize>,
}

const fn f(
    role: &'static str,
    name: &'static str,
    class: Option<&'static str>,
    parent: Option<usize>,
) -> FolderSpec {
    FolderSpec {
        role,
        name,
        container_class: class,
        parent,
    }
}

const NOTE: Option<&str> = Some("IPF.Note");

/// The folders of a private store: the root, the non-IPM folders, and the
/// IPM subtree with the usual mail, calendar and contact folders.
pub const PRIVATE: &[FolderSpec] = &[
    /* 0 */ f("root", "", None, None),
    /* 1 */ f("ipm_subtree", "IPM_SUBTREE", None, Some(0)),
    /* 2 */ f("ipm_views", "IPM_VIEWS", None, Some(0)),
    /* 3 */ f("ipm_common_views", "IPM_COMMON_VIEWS", None, Some(0)),
    /* 4 */ f("finder_root", "FINDER_ROOT", None, Some(0)),
    /* 5 */ f("schedule", "Schedule", None, Some(0)),
    /* 6 */ f("shortcuts", "Shortcut", None, Some(0)),
    /* 7 */ f("freebusy", "Freebusy Data", None, Some(0)),
    /* 8 */ f("inbox", "Inbox", NOTE, Some(1)),
    /* 9 */ f("outbox", "Outbox", NOTE, Some(1)),
    /* 10 */ f("wastebasket", "Deleted Items", NOTE, Some(1)),
    /* 11 */ f("sentmail", "Sent Items", NOTE, Some(1)),
    /* 12 */ f("contacts", "Contacts", Some("IPF.Contact"), Some(1)),
    /* 13 */ f("calendar", "Calendar", Some("IPF.Appointment"), Some(1)),
    /* 14 */ f("drafts", "Drafts", NOTE, Some(1)),
    /* 15 */ f("journal", "Journal", Some("IPF.Journal"), Some(1)),
    /* 16 */ f("notes", "Notes", Some("IPF.StickyNote"), Some(1)),
    /* 17 */ f("tasks", "Tasks", Some("IPF.Task"), Some(1)),
    /* 18 */ f("junk", "Junk E-mail", NOTE, Some(1)),
    /* 19 */
    f(
        "rss",
        "RSS Feeds",
        Some("IPF.Note.OutlookHomepage"),
        Some(1),
    ),
    /* 20 */
    f(
        "conversation_actions",
        "Conversation Action Settings",
        Some("IPF.Configuration"),
        Some(1),
    ),
    /* 21 */
    f(
        "quickstep",
        "Quick Step Settings",
        Some("IPF.Configuration"),
        Some(1),
    ),
    /* 22 */
    f(
        "suggested_contacts",
        "Suggested Contacts",
        Some("IPF.Contact"),
        Some(1),
    ),
    /* 23 */ f("sync_issues", "Sync Issues", NOTE, Some(1)),
    /* 24 */ f("conflicts", "Conflicts", NOTE, Some(23)),
    /* 25 */ f("local_failures", "Local Failures", NOTE, Some(23)),
    /* 26 */ f("server_failures", "Server Failures", NOTE, Some(23)),
];

/// The folders of the public store.
pub const PUBLIC: &[FolderSpec] = &[
    f("root", "", None, None),
    f("ipm_subtree", "IPM_SUBTREE", None, Some(0)),
    f("non_ipm_subtree", "NON_IPM_SUBTREE", None, Some(0)),
    f("finder_root", "FINDER_ROOT", None, Some(0)),
    f("freebusy", "SCHEDULE+ FREE BUSY", None, Some(2)),
];

/// Create the folders of `set` for a new store inside its transaction, each
/// with its change record; returns the root folder's id.
pub(super) fn create_set(
    tx: &Transaction<'_>,
    store_id: i64,
    set: &[FolderSpec],
    now: i64,
) -> Result<i64> {
    let mut ids: Vec<i64> = Vec::with_capacity(set.len());
    let validity = u32::try_from(now).unwrap_or(u32::MAX).max(1);
    for spec in set {
        let parent = spec.parent.and_then(|p| ids.get(p).copied());
        tx.execute(
            "INSERT INTO folders (store_id, parent_id, name, container_class, role, uid_validity) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                store_id,
                parent,
                spec.name,
                spec.container_class,
                spec.role,
                validity
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO changes (store_id, object_type, object_id, change_type, at) \
             VALUES (?1, 'folder', ?2, 'new', ?3)",
            params![store_id, id, now],
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

/// The live folders of a store, by id.
pub(super) fn of_store(c: &Connection, store_id: i64) -> Result<Vec<Folder>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {FOLDER_COLS} FROM folders WHERE store_id = ?1 AND deleted = 0 ORDER BY id"
    ))?;
    let rows = st.query_map(params![store_id], folder_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A live folder, or `NotFound`.
pub(super) fn live_folder(tx: &Transaction<'_>, id: i64) -> Result<Folder> {
    folder(tx, id)?.ok_or(StorageError::NotFound)
}

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
    use super::*;

    #[test]
    fn templates_are_well_formed() {
        for set in [PRIVATE, PUBLIC] {
            assert_eq!(set[0].parent, None);
            let mut roles = std::collections::HashSet::new();
            for (i, s) in set.iter().enumerate() {
                assert!(roles.insert(s.role), "duplicate role {}", s.role);
                if i > 0 {
                    assert!(s.parent.is_some_and(|p| p < i));
                }
            }
        }
    }
}
