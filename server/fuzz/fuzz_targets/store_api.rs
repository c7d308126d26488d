//! Arbitrary request lines and bodies through the store API's pure parsers
//! (`api::route`, `api::params`) and the single-instance attachment splitter
//! (`storage::segments`): never a panic, every limit holds, and a message cut
//! into skeleton + segments reassembles byte-exact.
#![no_main]

use kc_server::api::params::{self, MAX_WAIT};
use kc_server::api::route::{decode_segment, parse, query_param, Route, StoreRef};
use kc_server::api::MAX_ROWS;
use kc_server::storage::props::{valid_name, MAX_NAME};
use kc_server::storage::segments::{
    header_end, skeleton, split, stored_header, MAX_SEGMENTS, MIN_SEGMENT,
};
use kc_store_api::wire::{FolderChange, ItemField, NewFolder};
use libfuzzer_sys::fuzz_target;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    // Layout: selector byte, then path '\n' query '\n' body.
    let mut parts = rest.splitn(3, |b| *b == b'\n');
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let query = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or_default();
    let method = METHODS[usize::from(sel) % METHODS.len()];

    if let Ok(p) = parse(method, &path) {
        if let StoreRef::User(login) = &p.store {
            assert!(!login.is_empty() && login.len() <= 1024);
            assert!(!login.chars().any(char::is_control));
        }
        // Property routes carry only valid names (checked before any use).
        if let Route::GetProp(n) | Route::PutProp(n) | Route::DeleteProp(n) = &p.route {
            assert!(valid_name(n) && n.len() <= MAX_NAME);
        }
    }
    let _ = decode_segment(&path);
    let q = Some(query.as_ref());
    let _ = query_param(q, "flags");
    if let Ok(n) = params::limit(q) {
        assert!((1..=MAX_ROWS).contains(&n));
    }
    if let Ok(Some(w)) = params::wait(q) {
        assert!(w.as_secs() >= 1 && w.as_secs() <= MAX_WAIT);
    }
    if let Ok(f) = params::fields(q) {
        assert!(f.iter().all(|x| ItemField::parse(x.name()) == Some(*x)));
    }
    let _ = params::after_uid(q);
    let _ = params::since(q);
    let _ = params::internal_date(q);
    let _ = params::object_kind(q);
    let _ = params::flags(q);
    let _ = params::header_only(q);

    if let Ok(b) = params::flags_request(body) {
        assert!(b.uids.len() <= MAX_ROWS);
        let _ = params::flag_op(b.op);
    }
    if let Ok(b) = params::copy_request(body) {
        assert!(b.uids.len() <= MAX_ROWS);
    }
    if let Ok(b) = params::uids_request(body) {
        assert!(b.uids.len() <= MAX_ROWS);
    }
    if let Ok(b) = params::bodies(body) {
        assert!(b.uids.len() <= kc_store_api::frames::MAX_UIDS);
    }
    if let Ok(Some(u)) = params::expunge(body) {
        assert!(u.len() <= MAX_ROWS);
    }
    let _ = params::json::<NewFolder>(body);
    let _ = params::json::<FolderChange>(body);

    // The body as a message: cut ranges are sorted, disjoint, in bounds and
    // large; skeleton + ranges give the message back.
    if sel & 1 == 1 {
        let ranges = split(body);
        assert!(ranges.len() <= MAX_SEGMENTS);
        let mut end = 0;
        for r in &ranges {
            assert!(r.start >= end && r.end <= body.len() && r.len() >= MIN_SEGMENT);
            end = r.end;
        }
        let sk = skeleton(body, &ranges);
        let mut back = Vec::with_capacity(body.len());
        let mut at = 0;
        for r in &ranges {
            let before = r.start - (back.len() - at);
            back.extend_from_slice(&sk[at..before]);
            at = before;
            back.extend_from_slice(&body[r.clone()]);
        }
        back.extend_from_slice(&sk[at..]);
        assert_eq!(back, body);
        // The header taken from the skeleton is the message's own header.
        let first = ranges.first().map(|r| r.start as u64);
        if let Some(h) = stored_header(&sk, first) {
            let want = header_end(body).unwrap_or(body.len());
            assert_eq!(h, &body[..want]);
        }
    }
});
