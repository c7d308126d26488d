//! Arbitrary bytes as deflate / gzip request bodies: never a panic, never
//! more output than the cap.
#![no_main]

use kc_server::net::encoding::decode_body;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for enc in ["deflate", "gzip", "identity"] {
        if let Ok(out) = decode_body(Some(enc), data.to_vec(), 1 << 16) {
            assert!(out.len() <= 1 << 16);
        }
    }
});
