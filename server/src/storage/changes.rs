//! The change log: every write to an item or folder, deletions included (as
//! tombstones), takes the next change number (modseq) from the `changes`
//! table's AUTOINCREMENT key, which SQLite never reuses, so numbers stay
//! monotonic even after rows are purged. Gateways sync incrementally from it.

use rusqlite::{params, Connection, Transaction};

use super::Result;

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub modseq: i64,
    /// `item` or `folder`.
    pub object_type: String,
    pub object_id: i64,
    /// The item's folder (for a folder: its parent) at the time of the change.
    pub folder_id: Option<i64>,
    pub uid: Option<u32>,
    /// `new`, `modify`, `flags`, `rename`, `move` or `delete` (a tombstone;
    /// a moved item leaves a `delete` for its old folder and UID).
    pub change_type: String,
    pub at: i64,
}

/// Record a change inside the caller's transaction; returns its number.
#[allow(clippy::too_many_arguments)]
pub(super) fn record(
    tx: &Transaction<'_>,
    store: i64,
    object_type: &str,
    object_id: i64,
    folder: Option<i64>,
    uid: Option<u32>,
    change_type: &str,
    now: i64,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO changes (store_id, object_type, object_id, change_type, at, folder_id, uid) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![store, object_type, object_id, change_type, now, folder, uid],
    )?;
    let n = tx.last_insert_rowid();
    if let (Some(f), "item") = (folder, object_type) {
        // The folder's HIGHESTMODSEQ: every item change in it, tombstones too.
        tx.execute(
            "UPDATE folders SET item_modseq = ?2 WHERE id = ?1",
            params![f, n],
        )?;
    }
    Ok(n)
}

/// Changes of a store with a number above `since`, oldest first.
pub fn since(c: &Connection, store: i64, since: i64, limit: usize) -> Result<Vec<Change>> {
    let mut st = c.prepare_cached(
        "SELECT change_num, object_type, object_id, folder_id, uid, change_type, at FROM changes \
         WHERE store_id = ?1 AND change_num > ?2 ORDER BY change_num LIMIT ?3",
    )?;
    let rows = st.query_map(
        params![store, since, limit.min(i64::MAX as usize) as i64],
        |r| {
            Ok(Change {
                modseq: r.get(0)?,
                object_type: r.get(1)?,
                object_id: r.get(2)?,
                folder_id: r.get(3)?,
                uid: r.get::<_, Option<i64>>(4)?.map(|u| u as u32),
                change_type: r.get(5)?,
                at: r.get(6)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
