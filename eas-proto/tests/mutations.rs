//! The fuzz target's round-trip property on stable, without cargo-fuzz:
//! every single-byte mutation (and every truncation) of the seed documents
//! either fails to decode with an error, or decodes to a tree that
//! re-encodes without growing, decodes back to itself, and re-encodes to the
//! same bytes.

use std::path::Path;

use kc_eas_proto::{decode_with_limits, encode_with_limits, Limits};

const SMALL: Limits = Limits {
    max_document_bytes: 4096,
    max_depth: 8,
    max_nodes: 64,
    max_string_bytes: 64,
    max_opaque_bytes: 64,
};

fn check(data: &[u8], limits: &Limits) -> bool {
    let Ok(tree) = decode_with_limits(data, limits) else {
        return false;
    };
    let bytes = encode_with_limits(&tree, limits).expect("a decoded tree encodes");
    assert!(bytes.len() <= data.len(), "encoding grew the document");
    let again = decode_with_limits(&bytes, limits).expect("our encoding decodes");
    assert_eq!(again, tree);
    assert_eq!(encode_with_limits(&again, limits).unwrap(), bytes);
    true
}

#[test]
fn mutated_seeds_round_trip_or_fail_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/wbxml_decode");
    let mut seeds = 0;
    let mut decoded = 0;
    let mut total = 0;
    for entry in std::fs::read_dir(&dir).expect("seed dir") {
        let seed = std::fs::read(entry.expect("entry").path()).expect("seed");
        seeds += 1;
        assert!(check(&seed, &Limits::DEFAULT), "a seed must decode");
        for len in 0..seed.len() {
            total += 1;
            decoded += usize::from(check(&seed[..len], &Limits::DEFAULT));
        }
        for i in 0..seed.len() {
            for value in [0x00, 0x01, 0x03, 0x05, 0x45, 0x7F, 0x80, 0xC3, 0xFF] {
                let mut m = seed.clone();
                m[i] = value;
                total += 2;
                decoded += usize::from(check(&m, &Limits::DEFAULT));
                decoded += usize::from(check(&m, &SMALL));
            }
        }
    }
    assert!(seeds >= 10, "seeds present");
    assert!(
        decoded > 0 && decoded < total,
        "{decoded} of {total} decoded"
    );
}
