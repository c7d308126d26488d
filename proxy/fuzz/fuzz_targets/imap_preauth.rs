//! Feeds arbitrary bytes in arbitrary chunks to the edge's pre-login IMAP
//! path: kc-mail-proto's receiver with small limits, the edge's `parse` on
//! every framed command, and the edge's PLAIN check on its first line: no
//! panic, every framed command within the limits, a served command's tag is
//! valid, and a BAD keeps a tag only when it is a valid one.
#![no_main]

use kc_mail_proto::imap::receiver::{is_tag_char, Event, Limits, RawCommand, Receiver};
use kc_proxy::mail::credentials::from_plain;
use kc_proxy::mail::imap_preauth::{parse, Command};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_line: 200,
    max_literal: 64,
    max_literals: 3,
    max_command: 400,
    max_discard: 0,
};

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.bytes().all(is_tag_char)
}

fn check(raw: &RawCommand) {
    // Lines and literals, plus the CRLF written after each literal marker.
    assert!(raw.bytes.len() <= LIMITS.max_command + 2 * LIMITS.max_literals);
    match parse(raw) {
        Ok(req) => {
            assert!(valid_tag(&req.tag));
            if let Command::Login(c) = &req.command {
                assert!(!c.user.is_empty());
                assert!(!c.password.contains(&0));
            }
        }
        Err(e) => {
            if let Some(t) = e.tag {
                assert!(valid_tag(&t));
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size, so that framing across reads is
    // exercised too.
    let (chunk, body) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c % 64) + 1, rest),
        None => return,
    };
    let mut a = Receiver::new(LIMITS).report_blank_lines();
    for piece in body.chunks(chunk) {
        a.feed(piece);
        while let Some(ev) = a.next_event() {
            match ev {
                Event::Command(raw) => {
                    check(&raw);
                    let first = raw.bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
                    let _ = from_plain(first);
                }
                Event::Error(e) if e.fatal => return,
                Event::Error(e) => {
                    if let Some(t) = e.tag {
                        assert!(valid_tag(&t));
                    }
                }
                Event::Continue => {}
            }
        }
        // Bounded memory: never more than a line, a literal and a read.
        assert!(a.buffered() <= LIMITS.max_line + LIMITS.max_literal as usize + 2 * 64 + 2);
    }
    let _ = a.take_buffered();
});
