//! Per-store properties: small named values kept with a store (KC keeps a
//! user's IMAP subscriptions and similar client state as store
//! properties). Rows go with their store (`ON DELETE CASCADE`); writes are
//! single autocommit statements, durable on return (`synchronous = FULL`).

use rusqlite::{params, Connection, OptionalExtension};

use super::Result;

/// Longest property name.
pub const MAX_NAME: usize = 64;
/// Largest property value (the store API answers 413 above it).
pub const MAX_VALUE: usize = 1 << 20;

/// Whether `name` is a property name: 1 to [`MAX_NAME`] characters of
/// `A-Z a-z 0-9 . _ -` (safe in a URL path and in logs as is).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The value of property `name` of `store`, if set.
pub fn get(c: &Connection, store: i64, name: &str) -> Result<Option<Vec<u8>>> {
    Ok(c.query_row(
        "SELECT value FROM store_props WHERE store_id = ?1 AND name = ?2",
        params![store, name],
        |r| r.get(0),
    )
    .optional()?)
}

/// Set (`Some`) or remove (`None`) property `name` of `store`.
pub fn set(c: &Connection, store: i64, name: &str, value: Option<&[u8]>) -> Result<()> {
    match value {
        Some(v) => c.execute(
            "INSERT INTO store_props (store_id, name, value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (store_id, name) DO UPDATE SET value = excluded.value",
            params![store, name, v],
        )?,
        None => c.execute(
            "DELETE FROM store_props WHERE store_id = ?1 AND name = ?2",
            params![store, name],
        )?,
    };
    Ok(())
}
