//! Attachment garbage collection: the attachment rows and content-addressed
//! files (`attachments.rs`) that no item segment references any more.

use rusqlite::{params, Connection};

use super::attachments::AttachmentDir;
use super::{Result, StorageError};

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
