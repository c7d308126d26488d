//! Users, groups and companies known to the node (`objects`, KC's ids:
//! SYSTEM = 1, Everyone = 2) with their passwords, quotas, features, logon
//! times and group memberships.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{Object, ObjectData, ObjectKind, Quota, Result, StorageError};

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

/// A uniqueness violation is a `Collision`.
pub(super) fn map_unique(e: rusqlite::Error) -> StorageError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StorageError::Collision
        }
        _ => StorageError::Sqlite(e),
    }
}

pub(super) fn get(c: &Connection, id: i64) -> Result<Option<Object>> {
    Ok(c.query_row(
        &format!("SELECT {OBJECT_COLS} FROM objects WHERE id = ?1"),
        params![id],
        object_row,
    )
    .optional()?)
}

pub(super) fn by_login(c: &Connection, kind: ObjectKind, login: &str) -> Result<Option<Object>> {
    Ok(c.query_row(
        &format!("SELECT {OBJECT_COLS} FROM objects WHERE kind = ?1 AND login = ?2 COLLATE NOCASE"),
        params![kind.as_str(), login],
        object_row,
    )
    .optional()?)
}

pub(super) fn by_external(
    c: &Connection,
    source: &str,
    external_id: &str,
) -> Result<Option<Object>> {
    Ok(c.query_row(
        &format!("SELECT {OBJECT_COLS} FROM objects WHERE source = ?1 AND external_id = ?2"),
        params![source, external_id],
        object_row,
    )
    .optional()?)
}

pub(super) fn list(c: &Connection, kind: ObjectKind) -> Result<Vec<Object>> {
    let mut st = c.prepare(&format!(
        "SELECT {OBJECT_COLS} FROM objects WHERE kind = ?1 ORDER BY id"
    ))?;
    let rows = st.query_map(params![kind.as_str()], object_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(super) fn create(
    c: &Connection,
    kind: ObjectKind,
    source: &str,
    external_id: &str,
    d: &ObjectData,
) -> Result<i64> {
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

pub(super) fn update(c: &Connection, id: i64, d: &ObjectData) -> Result<()> {
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

pub(super) fn delete(c: &mut Connection, id: i64) -> Result<()> {
    let tx = c.transaction()?;
    // ON DELETE SET NULL turns the user's stores into orphans.
    let n = tx.execute("DELETE FROM objects WHERE id = ?1", params![id])?;
    tx.commit()?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub(super) fn password_hash(c: &Connection, id: i64) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT password_hash FROM objects WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )
    .optional()?
    .flatten())
}

pub(super) fn set_password_hash(c: &Connection, id: i64, hash: &str) -> Result<()> {
    c.execute(
        "UPDATE objects SET password_hash = ?2 WHERE id = ?1",
        params![id, hash],
    )?;
    Ok(())
}

pub(super) fn set_quota(c: &Connection, id: i64, q: &Quota) -> Result<()> {
    c.execute(
        "UPDATE objects SET quota_override = ?2, quota_warn = ?3, quota_soft = ?4, quota_hard = ?5 WHERE id = ?1",
        params![id, q.override_default, q.warn, q.soft, q.hard],
    )?;
    Ok(())
}

pub(super) fn set_features(
    c: &Connection,
    id: i64,
    enabled: &[String],
    disabled: &[String],
) -> Result<()> {
    c.execute(
        "UPDATE objects SET features_enabled = ?2, features_disabled = ?3 WHERE id = ?1",
        params![id, enabled.join(" "), disabled.join(" ")],
    )?;
    Ok(())
}

pub(super) fn record_logon(c: &Connection, id: i64, logon: bool, when: i64) -> Result<()> {
    let sql = if logon {
        "UPDATE objects SET last_logon = ?2 WHERE id = ?1"
    } else {
        "UPDATE objects SET last_logoff = ?2 WHERE id = ?1"
    };
    c.execute(sql, params![id, when])?;
    Ok(())
}

pub(super) fn add_member(c: &Connection, group: i64, member: i64) -> Result<()> {
    c.execute(
        "INSERT INTO members (group_id, member_id) VALUES (?1, ?2)",
        params![group, member],
    )
    .map_err(map_unique)?;
    Ok(())
}

pub(super) fn remove_member(c: &Connection, group: i64, member: i64) -> Result<()> {
    let n = c.execute(
        "DELETE FROM members WHERE group_id = ?1 AND member_id = ?2",
        params![group, member],
    )?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

/// `OBJECT_COLS` qualified with a table alias, for queries that join `objects`.
fn object_cols_of(alias: &str) -> String {
    OBJECT_COLS
        .split(", ")
        .map(|col| format!("{alias}.{}", col.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn members(c: &Connection, group: i64) -> Result<Vec<Object>> {
    let cols = object_cols_of("o");
    let mut st = c.prepare(&format!(
        "SELECT {cols} FROM objects o JOIN members m ON m.member_id = o.id WHERE m.group_id = ?1 ORDER BY o.login"
    ))?;
    let rows = st.query_map(params![group], object_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(super) fn groups_of(c: &Connection, member: i64) -> Result<Vec<Object>> {
    let cols = object_cols_of("o");
    let mut st = c.prepare(&format!(
        "SELECT {cols} FROM objects o JOIN members m ON m.group_id = o.id WHERE m.member_id = ?1 ORDER BY o.login"
    ))?;
    let rows = st.query_map(params![member], object_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
