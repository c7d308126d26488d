//! Feeds arbitrary bytes in arbitrary chunks to the pre-login IMAP command
//! framer with small limits, parses every framed command, and decodes
//! every line as a SASL PLAIN response: no panic, every framed command
//! within the limits, a parsed command's tag is valid, and a BAD keeps a
//! tag only when it is a valid one.
#![no_main]

use kc_proxy::mail::imap_preauth::{parse, valid_tag, Assembler, Command, Event, Limits, Part};
use kc_proxy::mail::sasl::decode_plain;
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_line: 200,
    max_literal: 64,
    max_literals: 3,
    max_command: 400,
};

fn check(parts: &[Part]) {
    let mut size = 0;
    let mut literals = 0;
    for p in parts {
        match p {
            Part::Line(l) => {
                assert!(l.len() <= LIMITS.max_line);
                size += l.len();
            }
            Part::Literal(l) => {
                assert!(l.len() <= LIMITS.max_literal);
                literals += 1;
                size += l.len();
            }
        }
    }
    assert!(literals <= LIMITS.max_literals);
    assert!(size <= LIMITS.max_command);
    match parse(parts) {
        Ok(req) => {
            assert!(valid_tag(req.tag.as_bytes()).is_some());
            if let Command::Login(c) = &req.command {
                assert!(!c.user.is_empty());
                assert!(!c.password.contains(&0));
            }
        }
        Err(e) => {
            if let Some(t) = e.tag {
                assert!(valid_tag(t.as_bytes()).is_some());
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
    let mut a = Assembler::new(LIMITS);
    for piece in body.chunks(chunk) {
        a.feed(piece);
        while let Some(ev) = a.next_event() {
            match ev {
                Event::Command(parts) => {
                    check(&parts);
                    if let Some(Part::Line(l)) = parts.first() {
                        let _ = decode_plain(l);
                    }
                }
                Event::Bad { tag: Some(t), .. } => assert!(valid_tag(t.as_bytes()).is_some()),
                Event::Bad { tag: None, .. } | Event::Continue => {}
                Event::Fatal(_) => return,
            }
        }
        // Bounded memory: never more than a line, a literal and a read.
        assert!(a.buffered() <= LIMITS.max_line + LIMITS.max_literal + 2 * 64 + 2);
    }
    let _ = a.take_buffered();
});
