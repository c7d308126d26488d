//! Arbitrary bytes through the SOAP envelope parser and the typed decoder:
//! never a panic, and every limit holds. Strings written by the response
//! writer parse back unchanged.
#![no_main]

use kc_server::soap::ops::decode;
use kc_server::soap::writer::Response;
use kc_server::soap::xml::{parse_document, parse_request, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_body: 1 << 16,
        max_depth: 16,
        max_element: 4096,
        max_elements: 1000,
    };
    if let Ok(op) = parse_request(data, &limits) {
        assert!(!op.name.is_empty());
        let _ = decode(&op);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        // XML 1.0 cannot carry most control characters, and line ends are normalised.
        if text.chars().all(|c| !c.is_control()) {
            let mut r = Response::new("fuzz");
            r.str("v", Some(text));
            let out = r.finish();
            let doc =
                parse_document(out.as_bytes(), &Limits::default()).expect("own output parses");
            let v = doc
                .child("Body")
                .and_then(|b| b.child("fuzzResponse"))
                .and_then(|f| f.child("v"))
                .expect("field present");
            assert_eq!(v.text, text);
        }
    }
});
