//! Decodes arbitrary bytes as EAS WBXML, under the default limits and under
//! small ones. Whatever decodes must re-encode (within the same limits, as
//! encoding never grows a document), decode again to the same tree, and
//! re-encode to the same bytes: decode and encode are inverse on trees.
#![no_main]

use kc_eas_proto::{decode_with_limits, encode_with_limits, xml, Limits};
use libfuzzer_sys::fuzz_target;

const SMALL: Limits = Limits {
    max_document_bytes: 4096,
    max_depth: 8,
    max_nodes: 64,
    max_string_bytes: 64,
    max_opaque_bytes: 64,
};

fn check(data: &[u8], limits: &Limits) {
    let Ok(tree) = decode_with_limits(data, limits) else {
        return;
    };
    let bytes = encode_with_limits(&tree, limits).expect("a decoded tree encodes");
    assert!(bytes.len() <= data.len(), "encoding grew the document");
    let again = decode_with_limits(&bytes, limits).expect("our encoding decodes");
    assert_eq!(again, tree, "decode(encode(tree)) != tree");
    assert_eq!(
        encode_with_limits(&again, limits).expect("re-encode"),
        bytes,
        "encoding is not a fixpoint"
    );
    let _ = xml::to_xml(&tree);
}

fuzz_target!(|data: &[u8]| {
    check(data, &Limits::DEFAULT);
    check(data, &SMALL);
});
