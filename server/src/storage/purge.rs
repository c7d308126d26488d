//! Purging soft-deleted items and folders for good (`softdelete_lifetime`),
//! which gives their size back to the store.

use rusqlite::{params, Connection};

use super::quota::add_size;
use super::Result;

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
        add_size(&tx, store, -size, now)?;
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
    use super::*;

    #[test]
    fn cutoff() {
        assert_eq!(softdelete_cutoff(0, 1_000_000), None);
        assert_eq!(softdelete_cutoff(1, 1_000_000), Some(1_000_000 - 86_400));
        assert_eq!(softdelete_cutoff(u64::MAX, 0), Some(-i64::MAX));
    }
}
