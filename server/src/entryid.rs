//! Entry ids for stores, folders and address-book objects, in the layout of
//! KC's EID / ABEID structures (little-endian fields after a 4-byte flags word).
//!
//! Store/folder EID: flags[4] | store guid[16] | version u32 = 0 | type u16 |
//! flags u16 | unique id[16] | server path, NUL-terminated, padded to 4.
//! ABEID: flags[4] | MUIDECSAB[16] | version u32 = 0 | object type u32 |
//! object id u32 | external id (base64) NUL-terminated, padded to 4.

use base64::Engine;
use sha2::{Digest, Sha256};

/// MAPI object types used in entry ids.
pub const MAPI_STORE: u16 = 1;
pub const MAPI_FOLDER: u16 = 3;
pub const MAPI_MAILUSER: u32 = 6;
pub const MAPI_DISTLIST: u32 = 8;

/// The provider uid of KC's address book (`MUIDECSAB`).
pub const MUIDECSAB: [u8; 16] = [
    0xac, 0x21, 0xa9, 0x50, 0x40, 0xd3, 0xee, 0x48, 0xb3, 0x19, 0xfb, 0xa7, 0x53, 0x30, 0x44, 0x25,
];

const EID_HEADER: usize = 4 + 16 + 4 + 2 + 2 + 16;
const ABEID_HEADER: usize = 4 + 16 + 4 + 4 + 4;

fn pad_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// A store entry id naming `server_path` (normally `pseudo://NAME`).
pub fn store_eid(store_guid: &[u8; 16], server_path: &str) -> Vec<u8> {
    object_eid(store_guid, MAPI_STORE, store_guid, server_path)
}

/// The unique id of a folder: stable, derived from the store guid and folder row id.
pub fn folder_uid(store_guid: &[u8; 16], folder_id: i64) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(store_guid);
    h.update(folder_id.to_le_bytes());
    let d = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

pub fn folder_eid(store_guid: &[u8; 16], folder_id: i64) -> Vec<u8> {
    object_eid(
        store_guid,
        MAPI_FOLDER,
        &folder_uid(store_guid, folder_id),
        "",
    )
}

fn object_eid(store_guid: &[u8; 16], ty: u16, uid: &[u8; 16], server: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(EID_HEADER + server.len() + 4);
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(store_guid);
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&ty.to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes());
    v.extend_from_slice(uid);
    pad_string(&mut v, server);
    v
}

/// The store guid named by a store entry id, if it is one.
pub fn parse_store_eid(eid: &[u8]) -> Option<[u8; 16]> {
    if eid.len() < EID_HEADER {
        return None;
    }
    let ty = u16::from_le_bytes([eid[24], eid[25]]);
    if ty != MAPI_STORE {
        return None;
    }
    let mut g = [0u8; 16];
    g.copy_from_slice(&eid[4..20]);
    Some(g)
}

/// An address-book entry id for a user or group.
pub fn ab_eid(object_type: u32, id: u32, external_id: &str) -> Vec<u8> {
    let ext = base64::engine::general_purpose::STANDARD.encode(external_id.as_bytes());
    let mut v = Vec::with_capacity(ABEID_HEADER + ext.len() + 4);
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(&MUIDECSAB);
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&object_type.to_le_bytes());
    v.extend_from_slice(&id.to_le_bytes());
    pad_string(&mut v, &ext);
    v
}

/// The object id inside an ABEID, if it is one.
pub fn parse_ab_eid(eid: &[u8]) -> Option<u32> {
    if eid.len() < ABEID_HEADER || eid[4..20] != MUIDECSAB {
        return None;
    }
    Some(u32::from_le_bytes([eid[28], eid[29], eid[30], eid[31]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrips() {
        let g = [7u8; 16];
        let e = store_eid(&g, "pseudo://node1");
        assert_eq!(e.len() % 4, 0);
        assert_eq!(parse_store_eid(&e), Some(g));
        assert_eq!(parse_store_eid(&folder_eid(&g, 3)), None);
        assert_eq!(parse_store_eid(&e[..10]), None);
        let a = ab_eid(MAPI_MAILUSER, 42, "john");
        assert_eq!(parse_ab_eid(&a), Some(42));
        assert_eq!(parse_ab_eid(&e), None);
        assert_ne!(folder_uid(&g, 1), folder_uid(&g, 2));
    }
}
