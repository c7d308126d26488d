//! Item reads: listings (rows without bodies) and bodies, whole, as
//! streamable pieces (skeleton slices and opened attachment files) or just
//! the header block.

use rusqlite::{params, Connection, OptionalExtension};

use super::attachments::AttachmentDir;
use super::items::{item_row, Item, ITEM_COLS};
use super::segments::{self, ItemBody, Segment};
use super::{Result, StorageError};

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
