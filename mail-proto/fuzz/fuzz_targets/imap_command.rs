//! Parses arbitrary bytes as one framed IMAP command: no panic, no stack
//! overflow, and a command that starts with a valid tag keeps it on error.
#![no_main]

use kc_mail_proto::imap::parser::parse_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_bytes(data) {
        Ok(req) => {
            assert!(!req.tag.is_empty());
            let _ = req.command.name();
        }
        Err(e) => {
            let tag_end = data.iter().position(|&b| b == b' ');
            if let (Some(end), Some(tag)) = (tag_end, &e.tag) {
                assert_eq!(tag.as_bytes(), &data[..end]);
            }
        }
    }
});
