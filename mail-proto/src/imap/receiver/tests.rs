use super::*;

fn drain(r: &mut Receiver) -> Vec<Event> {
    let mut out = Vec::new();
    while let Some(e) = r.next_event() {
        out.push(e);
    }
    out
}

fn cmd(s: &[u8]) -> Event {
    Event::Command(RawCommand { bytes: s.to_vec() })
}

fn small() -> Limits {
    Limits {
        max_line: 64,
        max_literal: 100,
        max_command: 400,
        max_literals: 3,
        max_discard: 1000,
    }
}

#[test]
fn single_and_pipelined_commands() {
    let mut r = Receiver::default();
    r.feed(b"a1 NOOP\r\na2 CAPABILITY\r\na3 LOG");
    assert_eq!(drain(&mut r), vec![cmd(b"a1 NOOP"), cmd(b"a2 CAPABILITY")]);
    r.feed(b"OUT\r\n");
    assert_eq!(drain(&mut r), vec![cmd(b"a3 LOGOUT")]);
    assert!(!r.in_command());
}

#[test]
fn byte_by_byte_with_literal() {
    let input = b"a LOGIN {3}\r\nbob {6}\r\nsecret\r\nb NOOP\r\n";
    let mut r = Receiver::default();
    let mut events = Vec::new();
    for b in input {
        r.feed(&[*b]);
        events.extend(drain(&mut r));
    }
    assert_eq!(
        events,
        vec![
            Event::Continue,
            Event::Continue,
            cmd(b"a LOGIN {3}\r\nbob {6}\r\nsecret"),
            cmd(b"b NOOP")
        ]
    );
}

#[test]
fn literal_plus_needs_no_continuation() {
    let mut r = Receiver::default();
    r.feed(b"a APPEND INBOX {5+}\r\nhello\r\n");
    assert_eq!(drain(&mut r), vec![cmd(b"a APPEND INBOX {5+}\r\nhello")]);
}

#[test]
fn literal_may_contain_crlf_and_braces() {
    let mut r = Receiver::default();
    r.feed(b"a APPEND INBOX {8+}\r\nx\r\n{2}\r\n\r\nb NOOP\n");
    assert_eq!(
        drain(&mut r),
        vec![cmd(b"a APPEND INBOX {8+}\r\nx\r\n{2}\r\n"), cmd(b"b NOOP")]
    );
}

#[test]
fn bare_lf_is_normalised() {
    let mut r = Receiver::default();
    r.feed(b"a LOGIN {1}\nx y\nb NOOP\n");
    assert_eq!(
        drain(&mut r),
        vec![Event::Continue, cmd(b"a LOGIN {1}\r\nx y"), cmd(b"b NOOP")]
    );
}

#[test]
fn cr_split_from_lf() {
    let mut r = Receiver::default();
    r.feed(b"a NOOP\r");
    assert_eq!(drain(&mut r), vec![]);
    r.feed(b"\n");
    assert_eq!(drain(&mut r), vec![cmd(b"a NOOP")]);
}

#[test]
fn blank_lines_are_ignored() {
    let mut r = Receiver::default();
    r.feed(b"\r\n\r\na NOOP\r\n");
    assert_eq!(drain(&mut r), vec![cmd(b"a NOOP")]);
}

#[test]
fn sync_literal_too_big_keeps_tag_and_session() {
    let mut r = Receiver::new(small());
    r.feed(b"t1 APPEND INBOX {101}\r\nt2 NOOP\r\n");
    let ev = drain(&mut r);
    assert_eq!(
        ev,
        vec![
            Event::Error(ReceiverError {
                tag: Some("t1".into()),
                kind: ReceiverErrorKind::LiteralTooBig { size: Some(101) },
                fatal: false
            }),
            cmd(b"t2 NOOP")
        ]
    );
    if let Event::Error(e) = &ev[0] {
        assert!(e.is_too_big());
    }
}

#[test]
fn literal_count_2_pow_63() {
    let mut r = Receiver::default();
    r.feed(b"x APPEND INBOX {9223372036854775808}\r\ny NOOP\r\n");
    let ev = drain(&mut r);
    assert_eq!(
        ev[0],
        Event::Error(ReceiverError {
            tag: Some("x".into()),
            kind: ReceiverErrorKind::LiteralTooBig {
                size: Some(1 << 63)
            },
            fatal: false
        })
    );
    assert_eq!(ev[1], cmd(b"y NOOP"));
}

#[test]
fn literal_count_overflowing_u64() {
    let mut r = Receiver::default();
    r.feed(b"x LOGIN {99999999999999999999999999}\r\ny NOOP\r\n");
    let ev = drain(&mut r);
    assert!(matches!(
        &ev[0],
        Event::Error(ReceiverError {
            kind: ReceiverErrorKind::LiteralTooBig { size: None },
            ..
        })
    ));
    assert_eq!(ev[1], cmd(b"y NOOP"));
}

#[test]
fn huge_non_sync_literal_is_fatal() {
    let mut r = Receiver::default();
    r.feed(b"x APPEND INBOX {9223372036854775808+}\r\n");
    let ev = drain(&mut r);
    assert_eq!(ev.len(), 1);
    assert!(
        matches!(&ev[0], Event::Error(ReceiverError { fatal: true, tag: Some(t), .. }) if t == "x")
    );
}

#[test]
fn rejected_non_sync_literal_is_skipped() {
    let mut r = Receiver::new(small());
    let mut input = b"a APPEND INBOX {200+}\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'z', 200));
    input.extend_from_slice(b" more {3+}\r\nabc trailing\r\nb NOOP\r\n");
    r.feed(&input);
    let ev = drain(&mut r);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert!(
        matches!(&ev[0], Event::Error(ReceiverError { fatal: false, tag: Some(t), .. }) if t == "a")
    );
    assert_eq!(ev[1], cmd(b"b NOOP"));
}

#[test]
fn line_too_long_keeps_tag_and_resyncs() {
    let mut r = Receiver::new(small());
    let mut input = b"tag7 LOGIN ".to_vec();
    input.extend(std::iter::repeat_n(b'a', 500));
    input.extend_from_slice(b"\r\ntag8 NOOP\r\n");
    // In pieces, so the limit trips before the LF arrives.
    for chunk in input.chunks(50) {
        r.feed(chunk);
    }
    let ev = drain(&mut r);
    assert_eq!(
        ev,
        vec![
            Event::Error(ReceiverError {
                tag: Some("tag7".into()),
                kind: ReceiverErrorKind::LineTooLong,
                fatal: false
            }),
            cmd(b"tag8 NOOP")
        ]
    );
}

#[test]
fn line_too_long_in_one_read_with_trailing_non_sync_literal() {
    let mut r = Receiver::new(small());
    let mut input = b"t LOGIN ".to_vec();
    input.extend(std::iter::repeat_n(b'a', 100));
    input.extend_from_slice(b" {4+}\r\nxxxx\r\nu NOOP\r\n");
    r.feed(&input);
    let ev = drain(&mut r);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[1], cmd(b"u NOOP"));
}

#[test]
fn over_long_line_over_several_reads_with_non_sync_literal() {
    let mut r = Receiver::new(small());
    let mut input = b"t LOGIN ".to_vec();
    input.extend(std::iter::repeat_n(b'a', 300));
    input.extend_from_slice(b" {4+}\r\nxxxx\r\nu NOOP\r\n");
    for chunk in input.chunks(7) {
        r.feed(chunk);
    }
    let ev = drain(&mut r);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[1], cmd(b"u NOOP"));
}

#[test]
fn nested_parentheses_line_is_bounded() {
    let mut r = Receiver::new(Limits::default());
    let mut input = b"n1 SEARCH ".to_vec();
    input.extend(std::iter::repeat_n(b'(', 100_000));
    input.extend_from_slice(b"\r\nn2 NOOP\r\n");
    r.feed(&input);
    let ev = drain(&mut r);
    assert!(
        matches!(&ev[0], Event::Error(ReceiverError { kind: ReceiverErrorKind::LineTooLong, tag: Some(t), .. }) if t == "n1")
    );
    assert_eq!(ev[1], cmd(b"n2 NOOP"));
}

#[test]
fn too_many_literals() {
    let mut r = Receiver::new(small());
    r.feed(b"a X {1+}\r\n1 {1+}\r\n2 {1+}\r\n3 {1+}\r\n4\r\nb NOOP\r\n");
    let ev = drain(&mut r);
    assert!(matches!(
        &ev[0],
        Event::Error(ReceiverError {
            kind: ReceiverErrorKind::TooManyLiterals,
            ..
        })
    ));
    assert_eq!(ev.last(), Some(&cmd(b"b NOOP")));
}

#[test]
fn command_too_big() {
    let mut r = Receiver::new(Limits {
        max_command: 50,
        ..small()
    });
    r.feed(b"a APPEND INBOX {60}\r\nb NOOP\r\n");
    let ev = drain(&mut r);
    assert!(matches!(
        &ev[0],
        Event::Error(ReceiverError {
            kind: ReceiverErrorKind::CommandTooBig,
            ..
        })
    ));
    assert_eq!(ev[1], cmd(b"b NOOP"));
}

#[test]
fn binary_garbage_never_panics() {
    let mut r = Receiver::new(small());
    let garbage: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    r.feed(&garbage);
    let _ = drain(&mut r);
    r.feed(b"\r\nz NOOP\r\n");
    let ev = drain(&mut r);
    assert_eq!(ev.last(), Some(&cmd(b"z NOOP")));
}

#[test]
fn untagged_garbage_has_no_tag() {
    let mut r = Receiver::new(small());
    let mut input = vec![0xffu8; 100];
    input.extend_from_slice(b"\r\n");
    r.feed(&input);
    let ev = drain(&mut r);
    assert!(matches!(
        &ev[0],
        Event::Error(ReceiverError { tag: None, .. })
    ));
}

#[test]
fn raw_lines_for_idle_and_sasl() {
    let mut r = Receiver::new(small());
    r.feed(b"DONE\r\nAGFsaWNlAHNlY3JldA==\na NOOP\r\n");
    assert_eq!(r.next_line(), Some(Ok(b"DONE".to_vec())));
    assert_eq!(r.next_line(), Some(Ok(b"AGFsaWNlAHNlY3JldA==".to_vec())));
    assert_eq!(drain(&mut r), vec![cmd(b"a NOOP")]);
    assert_eq!(r.next_line(), None);
    r.feed(&[b'x'; 200]);
    assert!(matches!(r.next_line(), Some(Err(_))));
    r.feed(b"yyy\r\nDONE\r\n");
    assert_eq!(r.next_line(), Some(Ok(b"DONE".to_vec())));
}

#[test]
fn tag_extraction() {
    assert_eq!(extract_tag(b"a001 NOOP"), Some("a001".into()));
    assert_eq!(extract_tag(b"a+1 NOOP"), None);
    assert_eq!(extract_tag(b"NOOP"), None);
    assert_eq!(extract_tag(b"* NOOP"), None);
    assert_eq!(extract_tag(b"x] NOOP"), Some("x]".into()));
}

#[test]
fn many_lines_count_against_command_size() {
    let mut r = Receiver::new(Limits {
        max_command: 60,
        ..small()
    });
    r.feed(b"a LOGIN {3+}\r\nabc {3+}\r\ndef {40+}\r\n");
    r.feed(&[b'z'; 40]);
    r.feed(b"\r\nb NOOP\r\n");
    let ev = drain(&mut r);
    assert!(
        matches!(
            &ev[0],
            Event::Error(ReceiverError {
                kind: ReceiverErrorKind::CommandTooBig,
                ..
            })
        ),
        "{ev:?}"
    );
    assert_eq!(ev.last(), Some(&cmd(b"b NOOP")));
}

#[test]
fn take_buffered_hands_out_what_follows_a_command() {
    let mut r = Receiver::new(Limits::unauthenticated());
    r.feed(b"a LOGIN u p\r\nb SELECT INBOX\r\nc FET");
    assert_eq!(r.next_event(), Some(cmd(b"a LOGIN u p")));
    assert_eq!(r.take_buffered(), b"b SELECT INBOX\r\nc FET".to_vec());
    assert_eq!(r.buffered(), 0);
    assert!(!r.in_command());
    r.feed(b"d NOOP\r\n");
    assert_eq!(r.next_event(), Some(cmd(b"d NOOP")));
}

#[test]
fn blank_lines_are_skipped_or_reported() {
    let mut r = Receiver::default();
    r.feed(b"\r\n  \r\na NOOP\r\n");
    assert_eq!(drain(&mut r), vec![cmd(b"a NOOP")]);
    let mut r = Receiver::default().report_blank_lines();
    r.feed(b"\r\na NOOP\r\n");
    assert_eq!(drain(&mut r), vec![cmd(b""), cmd(b"a NOOP")]);
}
