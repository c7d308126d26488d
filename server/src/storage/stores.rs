//! Stores (private, public, archive) with their owners and sizes, and their
//! creation with the standard folder set.

use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::folders;
use super::objects::map_unique;
use super::{Result, StorageError, Store, StoreType};

const STORE_COLS: &str =
    "id, guid, store_type, owner_id, owner_name, root_folder, created, modified, size";

fn store_row(r: &Row<'_>) -> rusqlite::Result<Store> {
    let guid: Vec<u8> = r.get(1)?;
    let mut g = [0u8; 16];
    if guid.len() == 16 {
        g.copy_from_slice(&guid);
    }
    Ok(Store {
        id: r.get(0)?,
        guid: g,
        store_type: StoreType::from_i64(r.get(2)?).unwrap_or(StoreType::Private),
        owner: r.get(3)?,
        owner_name: r.get(4)?,
        root_folder: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
        created: r.get(6)?,
        modified: r.get(7)?,
        size: r.get(8)?,
    })
}

pub(super) fn of_owner(c: &Connection, owner: i64, store_type: StoreType) -> Result<Option<Store>> {
    Ok(c.query_row(
        &format!(
            "SELECT {STORE_COLS} FROM stores WHERE owner_id = ?1 AND store_type = ?2 AND deleted = 0"
        ),
        params![owner, store_type as i64],
        store_row,
    )
    .optional()?)
}

pub(super) fn public(c: &Connection) -> Result<Option<Store>> {
    Ok(c.query_row(
        &format!(
            "SELECT {STORE_COLS} FROM stores WHERE store_type = 1 AND deleted = 0 ORDER BY id LIMIT 1"
        ),
        [],
        store_row,
    )
    .optional()?)
}

pub(super) fn by_guid(c: &Connection, guid: &[u8; 16]) -> Result<Option<Store>> {
    Ok(c.query_row(
        &format!("SELECT {STORE_COLS} FROM stores WHERE guid = ?1 AND deleted = 0"),
        params![&guid[..]],
        store_row,
    )
    .optional()?)
}

pub(super) fn orphans(c: &Connection) -> Result<Vec<Store>> {
    let mut st = c.prepare(&format!(
        "SELECT {STORE_COLS} FROM stores WHERE owner_id IS NULL AND store_type != 1 AND deleted = 0 ORDER BY id"
    ))?;
    let rows = st.query_map([], store_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(super) fn get(c: &Connection, id: i64) -> Result<Option<Store>> {
    Ok(c.query_row(
        &format!("SELECT {STORE_COLS} FROM stores WHERE id = ?1 AND deleted = 0"),
        params![id],
        store_row,
    )
    .optional()?)
}

/// Create a store and its standard folders in one transaction.
pub(super) fn create(
    c: &mut Connection,
    store_type: StoreType,
    owner: Option<i64>,
    owner_name: &str,
) -> Result<Store> {
    let tx = c.transaction()?;
    if store_type == StoreType::Public {
        let exists: i64 = tx.query_row(
            "SELECT COUNT(*) FROM stores WHERE store_type = 1 AND deleted = 0",
            [],
            |r| r.get(0),
        )?;
        if exists > 0 {
            return Err(StorageError::Collision);
        }
    }
    let mut guid = [0u8; 16];
    rand::rng().fill_bytes(&mut guid);
    let t = super::sqlite::now();
    tx.execute(
        "INSERT INTO stores (guid, store_type, owner_id, owner_name, created, modified) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![&guid[..], store_type as i64, owner, owner_name, t],
    )
    .map_err(map_unique)?;
    let store_id = tx.last_insert_rowid();
    let set = match store_type {
        StoreType::Public => folders::PUBLIC,
        _ => folders::PRIVATE,
    };
    let root = folders::create_set(&tx, store_id, set, t)?;
    tx.execute(
        "UPDATE stores SET root_folder = ?1 WHERE id = ?2",
        params![root, store_id],
    )?;
    tx.commit()?;
    Ok(Store {
        id: store_id,
        guid,
        store_type,
        owner,
        owner_name: owner_name.to_owned(),
        root_folder: root,
        created: t,
        modified: t,
        size: 0,
    })
}
