//! Feeds arbitrary bytes, in arbitrary chunks, through the IMAP receiver
//! with small limits, parses every framed command, and checks that framing
//! never loses the receiver: afterwards a clean command must still come out.
#![no_main]

use kc_mail_proto::imap::parser::parse_command;
use kc_mail_proto::imap::receiver::{Event, Limits, Receiver};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk % 64) + 1;
    let limits = Limits {
        max_line: 200,
        max_literal: 300,
        max_command: 1000,
        max_literals: 4,
        max_discard: 2000,
    };
    let mut r = Receiver::new(limits);
    let mut fatal = false;
    for piece in rest.chunks(chunk) {
        r.feed(piece);
        while let Some(ev) = r.next_event() {
            match ev {
                Event::Command(raw) => {
                    assert!(raw.bytes.len() <= limits.max_command + limits.max_line);
                    if let Err(e) = parse_command(&raw) {
                        // A tag that framing saw is a tag the parser keeps.
                        if raw.tag().is_some() {
                            assert!(e.tag.is_some());
                        }
                    }
                }
                Event::Error(e) => fatal |= e.fatal,
                Event::Continue => {}
            }
        }
        // Raw-line mode must also be safe at any point between commands.
        if !r.in_command() && piece.first() == Some(&b'D') {
            let _ = r.next_line();
        }
        assert!(r.buffered() <= rest.len());
    }
    if fatal {
        return;
    }
    // Terminate whatever is pending (a literal may still be open) and check
    // that a clean command then comes out.
    r.feed(&[b'x'; 300]);
    r.feed(b"\r\n\r\nzz9 NOOP\r\n");
    let mut saw = false;
    while let Some(ev) = r.next_event() {
        if let Event::Command(raw) = ev {
            saw |= raw.bytes == b"zz9 NOOP";
        }
    }
    if !r.in_command() {
        assert!(saw, "receiver did not resynchronise");
    }
});
