//! Arbitrary bytes as the answer of a SOAP `logon`, read by the store
//! client: never a panic, and a session id only from an answer that has
//! one (non-zero) with `er` 0.
#![no_main]

use kc_store_api::client::soap::parse_logon_response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = parse_logon_response(data) {
        assert_ne!(id, 0);
        let text = String::from_utf8_lossy(data);
        assert!(text.contains("logonResponse") && text.contains("ulSessionId"));
    }
});
