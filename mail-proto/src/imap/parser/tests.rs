//! Golden inputs for every command form, fed through the receiver so that
//! literal framing is exercised as on the wire.

use super::*;
use crate::imap::protocol::*;
use crate::imap::receiver::{Event, Receiver};

/// Frames `wire` (which may hold literals) and parses the single command.
fn parse(wire: &[u8]) -> Result<Request, ParseError> {
    let mut r = Receiver::default();
    r.feed(wire);
    loop {
        match r.next_event() {
            Some(Event::Continue) => {}
            Some(Event::Command(raw)) => return parse_command(&raw),
            other => panic!(
                "no command from {:?}: {other:?}",
                String::from_utf8_lossy(wire)
            ),
        }
    }
}

fn ok(wire: &str) -> Command {
    let line = format!("{wire}\r\n");
    match parse(line.as_bytes()) {
        Ok(r) => {
            assert_eq!(r.tag, "t");
            r.command
        }
        Err(e) => panic!("{wire}: {e:?}"),
    }
}

fn bad(wire: &[u8]) -> ParseError {
    let mut line = wire.to_vec();
    line.extend_from_slice(b"\r\n");
    match parse(&line) {
        Ok(r) => panic!("{:?} parsed as {r:?}", String::from_utf8_lossy(wire)),
        Err(e) => e,
    }
}

fn mb(s: &str) -> Mailbox {
    Mailbox::new(s.to_string())
}

fn set(s: &str) -> SequenceSet {
    let mut c = cursor::Cursor::new(s.as_bytes());
    sequence::sequence_set(&mut c).unwrap()
}

#[test]
fn any_state_commands() {
    assert_eq!(ok("t CAPABILITY"), Command::Capability);
    assert_eq!(ok("t noop"), Command::Noop);
    assert_eq!(ok("t Logout"), Command::Logout);
    assert_eq!(ok("t STARTTLS"), Command::StartTls);
    assert_eq!(ok("t NAMESPACE"), Command::Namespace);
    assert_eq!(ok("t IDLE"), Command::Idle);
    assert_eq!(ok("t CHECK"), Command::Check);
    assert_eq!(ok("t CLOSE"), Command::Close);
    assert_eq!(ok("t UNSELECT"), Command::Unselect);
    assert_eq!(ok("t EXPUNGE"), Command::Expunge);
    assert_eq!(ok("t UID EXPUNGE 3:5,9"), Command::UidExpunge(set("3:5,9")));
}

#[test]
fn login_forms() {
    let expect = Command::Login {
        username: b"fred".to_vec(),
        password: b"foo bar".to_vec(),
    };
    assert_eq!(ok("t LOGIN fred \"foo bar\""), expect);
    assert_eq!(
        parse(b"t LOGIN {4}\r\nfred {7}\r\nfoo bar\r\n")
            .unwrap()
            .command,
        expect
    );
    assert_eq!(
        parse(b"t LOGIN {4+}\r\nfred \"foo bar\"\r\n")
            .unwrap()
            .command,
        expect
    );
    assert_eq!(
        ok(r#"t LOGIN "a\"b" x\y"#.replace("x\\y", "\"x\\\\y\"").as_str()),
        Command::Login {
            username: b"a\"b".to_vec(),
            password: b"x\\y".to_vec()
        }
    );
    assert_eq!(bad(b"t LOGIN fred").tag.as_deref(), Some("t"));
    assert_eq!(
        bad(b"t LOGIN fred \"unterminated").kind,
        ParseErrorKind::Expected("closing quote")
    );
}

#[test]
fn authenticate_with_and_without_initial_response() {
    assert_eq!(
        ok("t AUTHENTICATE plain"),
        Command::Authenticate {
            mechanism: "PLAIN".into(),
            initial_response: None
        }
    );
    assert_eq!(
        ok("t AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0"),
        Command::Authenticate {
            mechanism: "PLAIN".into(),
            initial_response: Some(b"\0fred\0secret".to_vec())
        }
    );
    assert_eq!(
        ok("t AUTHENTICATE PLAIN ="),
        Command::Authenticate {
            mechanism: "PLAIN".into(),
            initial_response: Some(vec![])
        }
    );
    assert_eq!(
        bad(b"t AUTHENTICATE PLAIN ***").kind,
        ParseErrorKind::BadBase64
    );
    assert_eq!(
        bad(b"t AUTHENTICATE PLAIN AGZ").kind,
        ParseErrorKind::BadBase64
    );
}

#[test]
fn enable_and_id() {
    assert_eq!(
        ok("t ENABLE condstore utf8=accept"),
        Command::Enable(vec!["CONDSTORE".into(), "UTF8=ACCEPT".into()])
    );
    assert!(bad(b"t ENABLE").tag.is_some());
    assert_eq!(ok("t ID NIL"), Command::Id(None));
    assert_eq!(
        ok(r#"t ID ("name" "Thunderbird" "version" "115.0" "os" NIL)"#),
        Command::Id(Some(vec![
            ("name".into(), Some("Thunderbird".into())),
            ("version".into(), Some("115.0".into())),
            ("os".into(), None)
        ]))
    );
    let long = format!("t ID (\"{}\" \"x\")", "n".repeat(31));
    assert_eq!(bad(long.as_bytes()).kind, ParseErrorKind::IdTooLong);
    let many: String = (0..31).map(|i| format!("\"k{i}\" \"v\" ")).collect();
    assert_eq!(
        bad(format!("t ID ({})", many.trim_end()).as_bytes()).kind,
        ParseErrorKind::IdTooLong
    );
}

#[test]
fn select_examine_with_condstore_and_qresync() {
    assert_eq!(
        ok("t SELECT inbox"),
        Command::Select {
            mailbox: mb("INBOX"),
            params: SelectParams::default()
        }
    );
    assert_eq!(
        ok("t EXAMINE \"Sent Items\" (CONDSTORE)"),
        Command::Examine {
            mailbox: mb("Sent Items"),
            params: SelectParams {
                condstore: true,
                qresync: None
            }
        }
    );
    assert_eq!(
        ok("t SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1,3:5 41,43:45)))"),
        Command::Select {
            mailbox: mb("INBOX"),
            params: SelectParams {
                condstore: false,
                qresync: Some(QResync {
                    uid_validity: 67890007,
                    mod_seq: 20050715194045000,
                    known_uids: Some(set("41,43:211,214:541")),
                    seq_match: Some((set("1,3:5"), set("41,43:45")))
                })
            }
        }
    );
    assert_eq!(
        ok("t SELECT INBOX (QRESYNC (1 2))"),
        Command::Select {
            mailbox: mb("INBOX"),
            params: SelectParams {
                condstore: false,
                qresync: Some(QResync {
                    uid_validity: 1,
                    mod_seq: 2,
                    known_uids: None,
                    seq_match: None
                })
            }
        }
    );
    assert!(matches!(
        bad(b"t SELECT INBOX (FOO)").kind,
        ParseErrorKind::UnknownOption(_)
    ));
}

#[test]
fn mailbox_management() {
    assert_eq!(
        ok("t CREATE Entw&APw-rfe"),
        Command::Create {
            mailbox: mb("Entwürfe")
        }
    );
    assert_eq!(
        ok("t DELETE \"a b\""),
        Command::Delete { mailbox: mb("a b") }
    );
    assert_eq!(
        ok("t RENAME old new"),
        Command::Rename {
            from: mb("old"),
            to: mb("new")
        }
    );
    assert_eq!(ok("t SUBSCRIBE x"), Command::Subscribe { mailbox: mb("x") });
    assert_eq!(
        ok("t UNSUBSCRIBE x"),
        Command::Unsubscribe { mailbox: mb("x") }
    );
    assert_eq!(
        ok("t LSUB \"\" \"*\""),
        Command::Lsub {
            reference: String::new(),
            pattern: "*".into()
        }
    );
    assert_eq!(
        ok("t STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT HIGHESTMODSEQ SIZE)"),
        Command::Status {
            mailbox: mb("INBOX"),
            items: vec![
                StatusItem::Messages,
                StatusItem::UidNext,
                StatusItem::UidValidity,
                StatusItem::Unseen,
                StatusItem::Recent,
                StatusItem::HighestModSeq,
                StatusItem::Size
            ]
        }
    );
    assert!(bad(b"t STATUS INBOX ()").tag.is_some());
}

#[test]
fn invalid_utf7_mailbox_keeps_tag() {
    let e = bad(b"x7 SELECT &Jjo!");
    assert_eq!(e.tag.as_deref(), Some("x7"));
    assert!(matches!(e.kind, ParseErrorKind::BadMailbox(_)));
    assert!(matches!(
        bad(b"x8 CREATE \"Entw\xc3\xbcrfe\"").kind,
        ParseErrorKind::BadMailbox(_)
    ));
    assert!(matches!(
        bad(b"x9 COPY 1 &AGE-").kind,
        ParseErrorKind::BadMailbox(_)
    ));
}

#[test]
fn list_basic_and_extended() {
    assert_eq!(
        ok("t LIST \"\" %"),
        Command::List(ListArgs {
            patterns: vec!["%".into()],
            ..Default::default()
        })
    );
    assert_eq!(
        ok("t LIST \"\" INBOX/*"),
        Command::List(ListArgs {
            patterns: vec!["INBOX/*".into()],
            ..Default::default()
        })
    );
    assert_eq!(
        ok("t LIST (SPECIAL-USE) \"\" \"*\" RETURN (CHILDREN SPECIAL-USE)"),
        Command::List(ListArgs {
            selection: ListSelection {
                special_use: true,
                ..Default::default()
            },
            patterns: vec!["*".into()],
            returns: ListReturn {
                children: true,
                special_use: true,
                ..Default::default()
            },
            extended: true,
            ..Default::default()
        })
    );
    assert_eq!(
        ok("t LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX Sent/%) RETURN (STATUS (MESSAGES UNSEEN))"),
        Command::List(ListArgs {
            selection: ListSelection { subscribed: true, recursive_match: true, ..Default::default() },
            patterns: vec!["INBOX".into(), "Sent/%".into()],
            returns: ListReturn {
                status: Some(vec![StatusItem::Messages, StatusItem::Unseen]),
                ..Default::default()
            },
            extended: true,
            ..Default::default()
        })
    );
    assert!(bad(b"t LIST (RECURSIVEMATCH) \"\" *").tag.is_some());
    assert!(matches!(
        bad(b"t LIST (BOGUS) \"\" *").kind,
        ParseErrorKind::UnknownOption(_)
    ));
    assert!(bad(b"t LIST \"\" * RETURN (BOGUS)").tag.is_some());
}

#[test]
fn append_forms() {
    let c = parse(b"t APPEND saved-messages (\\Seen $Forwarded) \"7-Feb-1994 21:52:25 -0800\" {5}\r\nhello\r\n")
        .unwrap()
        .command;
    assert_eq!(
        c,
        Command::Append {
            mailbox: mb("saved-messages"),
            flags: vec![Flag::Seen, Flag::Keyword("$Forwarded".into())],
            date: Some(ImapDateTime {
                date: ImapDate::new(1994, 2, 7).unwrap(),
                hour: 21,
                minute: 52,
                second: 25,
                offset_minutes: -480
            }),
            message: b"hello".to_vec()
        }
    );
    let c = parse(b"t APPEND INBOX {3+}\r\na\r\n\r\n").unwrap().command;
    assert_eq!(
        c,
        Command::Append {
            mailbox: mb("INBOX"),
            flags: vec![],
            date: None,
            message: b"a\r\n".to_vec()
        }
    );
    let c = parse(b"t APPEND INBOX () \" 7-Feb-1994 01:02:03 +0100\" ~{2}\r\n\0x\r\n")
        .unwrap()
        .command;
    assert!(matches!(c, Command::Append { message, .. } if message == b"\0x"));
    assert_eq!(
        parse(b"t APPEND INBOX \"30-Feb-1994 21:52:25 -0800\" {1}\r\nx\r\n")
            .unwrap_err()
            .kind,
        ParseErrorKind::BadDate
    );
    assert_eq!(
        parse(b"t APPEND INBOX {1}\r\n\0\r\n").unwrap_err().kind,
        ParseErrorKind::NulInLiteral
    );
    assert!(bad(b"t APPEND INBOX hello").tag.is_some());
}

#[test]
fn search_keys() {
    let c = ok("t SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"");
    assert_eq!(
        c,
        Command::Search {
            uid: false,
            charset: None,
            criteria: vec![
                SearchKey::Flagged,
                SearchKey::Since(ImapDate::new(1994, 2, 1).unwrap()),
                SearchKey::Not(Box::new(SearchKey::From("Smith".into())))
            ]
        }
    );
    let c = ok("t UID SEARCH CHARSET utf-8 OR (TO a CC b) BCC c 1:5,*");
    assert_eq!(
        c,
        Command::Search {
            uid: true,
            charset: Some("UTF-8".into()),
            criteria: vec![
                SearchKey::Or(
                    Box::new(SearchKey::And(vec![
                        SearchKey::To("a".into()),
                        SearchKey::Cc("b".into())
                    ])),
                    Box::new(SearchKey::Bcc("c".into()))
                ),
                SearchKey::Sequence(set("1:5,*"))
            ]
        }
    );
    let all = "t SEARCH ALL ANSWERED DELETED DRAFT NEW OLD RECENT SEEN UNANSWERED UNDELETED UNDRAFT \
               UNFLAGGED UNSEEN BODY x TEXT y SUBJECT z HEADER X-Foo bar KEYWORD $Junk UNKEYWORD \\Seen \
               LARGER 10 SMALLER 20 UID 4:* BEFORE \"2-Mar-2020\" ON 3-Mar-2020 SENTBEFORE 1-Jan-2000 \
               SENTON 1-Jan-2000 SENTSINCE 1-Jan-2000 MODSEQ 620162338 MODSEQ \"/flags/\\\\draft\" all 5";
    let Command::Search { criteria, .. } = ok(all) else {
        panic!()
    };
    assert_eq!(criteria.len(), 29);
    assert_eq!(criteria[27], SearchKey::ModSeq(620162338));
    assert_eq!(criteria[28], SearchKey::ModSeq(5));
    let c = parse(b"t SEARCH CHARSET UTF-8 SUBJECT {6}\r\n\xc3\xa4bcde\r\n")
        .unwrap()
        .command;
    assert!(
        matches!(c, Command::Search { criteria, .. } if criteria == vec![SearchKey::Subject("äbcde".into())])
    );
    assert_eq!(
        bad(b"t SEARCH CHARSET KOI8-R ALL").kind,
        ParseErrorKind::BadCharset
    );
    assert!(matches!(
        bad(b"t SEARCH BOGUS").kind,
        ParseErrorKind::UnknownOption(_)
    ));
    assert_eq!(
        bad(b"t SEARCH SINCE 31-Apr-2020").kind,
        ParseErrorKind::BadDate
    );
}

#[test]
fn fetch_macros_and_atts() {
    let fast = vec![
        FetchAttr::Flags,
        FetchAttr::InternalDate,
        FetchAttr::Rfc822Size,
    ];
    let Command::Fetch { attrs, .. } = ok("t FETCH 1 FAST") else {
        panic!()
    };
    assert_eq!(attrs, fast);
    let Command::Fetch { attrs, .. } = ok("t FETCH 1 all") else {
        panic!()
    };
    assert_eq!(attrs.len(), 4);
    let Command::Fetch { attrs, .. } = ok("t FETCH 1 FULL") else {
        panic!()
    };
    assert_eq!(attrs.last(), Some(&FetchAttr::Body));
    let c = ok("t UID FETCH 1:* (FLAGS UID ENVELOPE INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT BODY BODYSTRUCTURE MODSEQ) (CHANGEDSINCE 12345 VANISHED)");
    assert_eq!(
        c,
        Command::Fetch {
            uid: true,
            set: set("1:*"),
            attrs: vec![
                FetchAttr::Flags,
                FetchAttr::Uid,
                FetchAttr::Envelope,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822,
                FetchAttr::Rfc822Header,
                FetchAttr::Rfc822Size,
                FetchAttr::Rfc822Text,
                FetchAttr::Body,
                FetchAttr::BodyStructure,
                FetchAttr::ModSeq
            ],
            changed_since: Some(12345),
            vanished: true
        }
    );
    assert!(bad(b"t FETCH 1 FLAGS (VANISHED)").tag.is_some());
}

#[test]
fn fetch_sections_and_partials() {
    let one = |s: &str| -> FetchAttr {
        match ok(&format!("t FETCH 1 {s}")) {
            Command::Fetch { mut attrs, .. } => attrs.remove(0),
            _ => panic!(),
        }
    };
    assert_eq!(
        one("BODY[]<0.1024>"),
        FetchAttr::BodySection {
            peek: false,
            section: Section::default(),
            partial: Some(Partial {
                origin: 0,
                count: 1024
            })
        }
    );
    assert_eq!(
        one("BODY.PEEK[HEADER.FIELDS (From To \"Subject\")]"),
        FetchAttr::BodySection {
            peek: true,
            section: Section {
                part: vec![],
                text: Some(SectionText::HeaderFields(vec![
                    "From".into(),
                    "To".into(),
                    "Subject".into()
                ]))
            },
            partial: None
        }
    );
    assert_eq!(
        one("body[1.2.3.header.fields.not (x-spam)]"),
        FetchAttr::BodySection {
            peek: false,
            section: Section {
                part: vec![1, 2, 3],
                text: Some(SectionText::HeaderFieldsNot(vec!["x-spam".into()]))
            },
            partial: None
        }
    );
    assert_eq!(
        one("BODY[2.MIME]"),
        FetchAttr::BodySection {
            peek: false,
            section: Section {
                part: vec![2],
                text: Some(SectionText::Mime)
            },
            partial: None
        }
    );
    assert_eq!(
        one("BODY[4.2.TEXT]<10.20>"),
        FetchAttr::BodySection {
            peek: false,
            section: Section {
                part: vec![4, 2],
                text: Some(SectionText::Text)
            },
            partial: Some(Partial {
                origin: 10,
                count: 20
            })
        }
    );
    assert_eq!(
        one("BODY[HEADER]"),
        FetchAttr::BodySection {
            peek: false,
            section: Section {
                part: vec![],
                text: Some(SectionText::Header)
            },
            partial: None
        }
    );
    assert_eq!(
        one("BODY[3]"),
        FetchAttr::BodySection {
            peek: false,
            section: Section {
                part: vec![3],
                text: None
            },
            partial: None
        }
    );
    assert_eq!(
        one("BINARY.PEEK[1.2]<0.5>"),
        FetchAttr::Binary {
            peek: true,
            part: vec![1, 2],
            partial: Some(Partial {
                origin: 0,
                count: 5
            })
        }
    );
    assert_eq!(
        one("BINARY[]"),
        FetchAttr::Binary {
            peek: false,
            part: vec![],
            partial: None
        }
    );
    assert_eq!(
        one("BINARY.SIZE[1]"),
        FetchAttr::BinarySize { part: vec![1] }
    );
    for b in [
        &b"t FETCH 1 BODY[MIME]"[..],
        b"t FETCH 1 BODY[0]",
        b"t FETCH 1 BODY[1.BOGUS]",
        b"t FETCH 1 BODY[]<0.0>",
        b"t FETCH 1 BODY[]<5>",
        b"t FETCH 1 BODY[HEADER.FIELDS ()]",
        b"t FETCH 1 BODY[",
        b"t FETCH 1 (FLAGS",
        b"t FETCH 1 FLAGS)",
        b"t FETCH 0 FLAGS",
        b"t FETCH 1:4294967296 FLAGS",
    ] {
        assert_eq!(
            bad(b).tag.as_deref(),
            Some("t"),
            "{}",
            String::from_utf8_lossy(b)
        );
    }
}

#[test]
fn store_copy_move() {
    assert_eq!(
        ok("t STORE 2:4 +FLAGS.SILENT (\\Deleted $Junk)"),
        Command::Store {
            uid: false,
            set: set("2:4"),
            unchanged_since: None,
            op: StoreOp::Add,
            silent: true,
            flags: vec![Flag::Deleted, Flag::Keyword("$Junk".into())]
        }
    );
    assert_eq!(
        ok("t UID STORE 7 (UNCHANGEDSINCE 320162338) -FLAGS \\Seen \\Flagged"),
        Command::Store {
            uid: true,
            set: set("7"),
            unchanged_since: Some(320162338),
            op: StoreOp::Remove,
            silent: false,
            flags: vec![Flag::Seen, Flag::Flagged]
        }
    );
    assert_eq!(
        ok("t STORE 1 FLAGS ()"),
        Command::Store {
            uid: false,
            set: set("1"),
            unchanged_since: None,
            op: StoreOp::Replace,
            silent: false,
            flags: vec![]
        }
    );
    assert_eq!(
        ok("t COPY 2:4 MEETING"),
        Command::Copy {
            uid: false,
            set: set("2:4"),
            mailbox: mb("MEETING")
        }
    );
    assert_eq!(
        ok("t UID MOVE 42 Trash"),
        Command::Move {
            uid: true,
            set: set("42"),
            mailbox: mb("Trash")
        }
    );
    assert_eq!(
        ok("t MOVE 1 Trash"),
        Command::Move {
            uid: false,
            set: set("1"),
            mailbox: mb("Trash")
        }
    );
    assert_eq!(
        ok("t UID COPY 1 x"),
        Command::Copy {
            uid: true,
            set: set("1"),
            mailbox: mb("x")
        }
    );
    assert!(bad(b"t STORE 1 FLAGZ (\\Seen)").tag.is_some());
}

#[test]
fn malformed_commands_keep_tag() {
    // Unbalanced parentheses.
    for b in [
        &b"a1 FETCH 1 (FLAGS UID"[..],
        b"a1 SEARCH (ALL",
        b"a1 SEARCH ALL)",
        b"a1 STATUS INBOX (MESSAGES",
    ] {
        let e = bad(b);
        assert_eq!(
            e.tag.as_deref(),
            Some("a1"),
            "{}",
            String::from_utf8_lossy(b)
        );
    }
    // Literal count beyond the data (not framed by the receiver).
    let e = parse_bytes(b"a2 LOGIN {9223372036854775808}\r\nx y").unwrap_err();
    assert_eq!(e.tag.as_deref(), Some("a2"));
    let e = parse_bytes(b"a2 LOGIN {5}\r\nab").unwrap_err();
    assert_eq!(e.tag.as_deref(), Some("a2"));
    // Unknown command and no tag.
    assert_eq!(bad(b"a3 FROBNICATE").kind, ParseErrorKind::UnknownCommand);
    assert_eq!(bad(b"a3 UID FROB 1").kind, ParseErrorKind::UnknownCommand);
    assert_eq!(parse_bytes(b"NOOP").unwrap_err().tag, None);
    assert_eq!(parse_bytes(b"* NOOP").unwrap_err().tag, None);
    assert_eq!(parse_bytes(b"").unwrap_err().tag, None);
    assert_eq!(bad(b"a4 NOOP extra").kind, ParseErrorKind::TrailingData);
    assert_eq!(
        bad(b"a5 FETCH 1 (MODSEQ) (CHANGEDSINCE 9223372036854775808)").kind,
        ParseErrorKind::NumberTooBig
    );
}

#[test]
fn hundred_thousand_nested_lists_do_not_overflow() {
    for prefix in [
        &b"n SEARCH "[..],
        b"n FETCH 1 ",
        b"n LIST ",
        b"n ID ",
        b"n STORE 1 FLAGS ",
        b"n SELECT x ",
    ] {
        let mut line = prefix.to_vec();
        line.extend(std::iter::repeat_n(b'(', 100_000));
        line.extend(std::iter::repeat_n(b')', 100_000));
        let e = parse_bytes(&line).unwrap_err();
        assert_eq!(e.tag.as_deref(), Some("n"));
    }
    let mut line = b"n SEARCH ".to_vec();
    line.extend(std::iter::repeat_n(b'(', 100_000));
    assert_eq!(
        parse_bytes(&line).unwrap_err().kind,
        ParseErrorKind::TooDeep
    );
    let mut line = b"n SEARCH".to_vec();
    for _ in 0..100_000 {
        line.extend_from_slice(b" NOT");
    }
    line.extend_from_slice(b" ALL");
    // "NOT NOT ..." with spaces: each NOT is one level.
    let nots: Vec<u8> = line.clone();
    assert_eq!(
        parse_bytes(&nots).unwrap_err().kind,
        ParseErrorKind::TooDeep
    );
    // Within the bound it parses.
    let mut ok_line = b"n SEARCH ".to_vec();
    ok_line.extend(std::iter::repeat_n(b'(', 30));
    ok_line.extend_from_slice(b"ALL");
    ok_line.extend(std::iter::repeat_n(b')', 30));
    assert!(parse_bytes(&ok_line).is_ok());
}

#[test]
fn binary_garbage_is_an_error_not_a_panic() {
    let mut seed: u32 = 0x1234_5678;
    for len in 0..400usize {
        let mut buf = Vec::with_capacity(len);
        for _ in 0..len {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            buf.push((seed >> 16) as u8);
        }
        let _ = parse_bytes(&buf);
        let mut tagged = b"g1 ".to_vec();
        tagged.extend_from_slice(&buf);
        if let Err(e) = parse_bytes(&tagged) {
            assert_eq!(e.tag.as_deref(), Some("g1"));
        }
    }
}

#[test]
fn sasl_continuation_lines() {
    assert_eq!(parse_sasl_response(b"*"), Ok(SaslResponse::Cancel));
    assert_eq!(parse_sasl_response(b""), Ok(SaslResponse::Data(vec![])));
    assert_eq!(
        parse_sasl_response(b"AGZyZWQAc2VjcmV0"),
        Ok(SaslResponse::Data(b"\0fred\0secret".to_vec()))
    );
    assert_eq!(parse_sasl_response(b"@@@"), Err(ParseErrorKind::BadBase64));
}

#[test]
fn literal_plus_append_through_receiver_and_parser() {
    let mut r = Receiver::default();
    r.feed(b"p1 APPEND INBOX (\\Seen) {12+}\r\nSubject: x\r\n\r\np2 NOOP\r\np3 UID FETCH 1:* (UID)\r\n");
    let mut tags = Vec::new();
    while let Some(ev) = r.next_event() {
        match ev {
            Event::Command(raw) => {
                let req = parse_command(&raw).unwrap();
                if let Command::Append { message, flags, .. } = &req.command {
                    assert_eq!(message, b"Subject: x\r\n");
                    assert_eq!(flags, &vec![Flag::Seen]);
                }
                tags.push(req.tag)
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(tags, vec!["p1", "p2", "p3"]);
}

#[test]
fn idle_done() {
    assert!(is_idle_done(b"DONE"));
    assert!(is_idle_done(b"done "));
    assert!(!is_idle_done(b"a NOOP"));
    assert!(!is_idle_done(b""));
}

/// Issue #21, bug 7: a name that is not valid modified UTF-7 is refused by
/// the parser, and the answer depends on the command: LIST and LSUB list
/// nothing, CREATE cannot, the rest find no such mailbox.
#[test]
fn invalid_mailbox_names_are_answered_by_command() {
    for (line, answer) in [
        (&b"a SELECT !#$&'+,-."[..], InvalidNameAnswer::NonExistent),
        (b"a LIST \"\" !#$&'+,-.", InvalidNameAnswer::EmptyList),
        (b"a lsub \"\" &Jjo", InvalidNameAnswer::EmptyList),
        (b"a CREATE &Jjo", InvalidNameAnswer::Cannot),
        (b"a RENAME x &Jjo", InvalidNameAnswer::Cannot),
        (b"a uid MOVE 1 &Jjo", InvalidNameAnswer::NonExistent),
        (b"a STATUS &Jjo (MESSAGES)", InvalidNameAnswer::NonExistent),
    ] {
        let e = parse_bytes(line).unwrap_err();
        assert!(matches!(e.kind, ParseErrorKind::BadMailbox(_)), "{e:?}");
        assert_eq!(invalid_name_answer(line), answer, "{line:?}");
    }
}
