use super::*;
use crate::imap::protocol::{ImapDate, Partial};

fn wire(r: Response) -> String {
    String::from_utf8(r.to_bytes()).unwrap()
}

fn tagged(status: Status, code: ResponseCode, text: &str) -> String {
    wire(Response::Status(
        StatusResponse::tagged("a1", status, text).with_code(code),
    ))
}

#[test]
fn status_responses_with_codes() {
    let flags = vec![
        Flag::Seen,
        Flag::Answered,
        Flag::Keyword("$Forwarded".into()),
    ];
    assert_eq!(
        tagged(Status::Ok, ResponseCode::UidValidity(3857529045), "x"),
        "a1 OK [UIDVALIDITY 3857529045] x\r\n"
    );
    assert_eq!(
        tagged(Status::Ok, ResponseCode::UidNext(4392), "x"),
        "a1 OK [UIDNEXT 4392] x\r\n"
    );
    assert_eq!(
        tagged(
            Status::Ok,
            ResponseCode::PermanentFlags(flags, true),
            "Limited"
        ),
        "a1 OK [PERMANENTFLAGS (\\Seen \\Answered $Forwarded \\*)] Limited\r\n"
    );
    assert_eq!(
        tagged(Status::Ok, ResponseCode::PermanentFlags(vec![], false), "x"),
        "a1 OK [PERMANENTFLAGS ()] x\r\n"
    );
    assert_eq!(
        tagged(
            Status::Ok,
            ResponseCode::HighestModSeq(715194045007),
            "Highest"
        ),
        "a1 OK [HIGHESTMODSEQ 715194045007] Highest\r\n"
    );
    assert_eq!(
        tagged(
            Status::Ok,
            ResponseCode::AppendUid {
                uid_validity: 38505,
                uids: SequenceSet::single(3955)
            },
            "APPEND completed"
        ),
        "a1 OK [APPENDUID 38505 3955] APPEND completed\r\n"
    );
    assert_eq!(
        tagged(
            Status::Ok,
            ResponseCode::CopyUid {
                uid_validity: 38505,
                source: SequenceSet::from_numbers(&[304, 319, 320]),
                dest: SequenceSet::from_numbers(&[3956, 3957, 3958])
            },
            "Done"
        ),
        "a1 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
    );
    for (code, name) in [
        (ResponseCode::TryCreate, "TRYCREATE"),
        (ResponseCode::Alert, "ALERT"),
        (ResponseCode::Unavailable, "UNAVAILABLE"),
        (ResponseCode::AuthenticationFailed, "AUTHENTICATIONFAILED"),
        (ResponseCode::Cannot, "CANNOT"),
        (ResponseCode::NonExistent, "NONEXISTENT"),
        (ResponseCode::TooBig, "TOOBIG"),
        (ResponseCode::ReadOnly, "READ-ONLY"),
        (ResponseCode::PrivacyRequired, "PRIVACYREQUIRED"),
    ] {
        assert_eq!(
            tagged(Status::No, code, "t"),
            format!("a1 NO [{name}] t\r\n")
        );
    }
    assert_eq!(
        tagged(
            Status::No,
            ResponseCode::BadCharset(vec!["US-ASCII".into(), "UTF-8".into()]),
            "charset"
        ),
        "a1 NO [BADCHARSET (US-ASCII UTF-8)] charset\r\n"
    );
    assert_eq!(
        wire(Response::Status(
            StatusResponse::untagged(Status::Ok, "").with_code(ResponseCode::Capability(vec![
                "IMAP4rev1".into(),
                "LITERAL+".into()
            ]))
        )),
        "* OK [CAPABILITY IMAP4rev1 LITERAL+] completed\r\n"
    );
    // Text cannot break the line.
    assert_eq!(
        wire(Response::Status(StatusResponse::tagged(
            "t",
            Status::Bad,
            "evil\r\nt2 OK injected"
        ))),
        "t BAD evil  t2 OK injected\r\n"
    );
    assert_eq!(wire(Response::Continue("Ready".into())), "+ Ready\r\n");
}

#[test]
fn untagged_data() {
    let d = |d: Data| wire(Response::Data(d));
    assert_eq!(d(Data::Exists(23)), "* 23 EXISTS\r\n");
    assert_eq!(d(Data::Recent(1)), "* 1 RECENT\r\n");
    assert_eq!(d(Data::Expunge(3)), "* 3 EXPUNGE\r\n");
    assert_eq!(
        d(Data::Flags(vec![Flag::Seen, Flag::Deleted])),
        "* FLAGS (\\Seen \\Deleted)\r\n"
    );
    assert_eq!(
        d(Data::List {
            lsub: false,
            attributes: vec!["\\HasNoChildren".into(), "\\Drafts".into()],
            delimiter: Some('/'),
            mailbox: Mailbox::new("Entwürfe".into())
        }),
        "* LIST (\\HasNoChildren \\Drafts) \"/\" Entw&APw-rfe\r\n"
    );
    assert_eq!(
        d(Data::List {
            lsub: true,
            attributes: vec![],
            delimiter: None,
            mailbox: Mailbox::new("Sent Items".into())
        }),
        "* LSUB () NIL \"Sent Items\"\r\n"
    );
    assert_eq!(
        d(Data::Status {
            mailbox: Mailbox::new("inbox".into()),
            items: vec![
                (StatusItem::Messages, 17),
                (StatusItem::HighestModSeq, 7011231777)
            ]
        }),
        "* STATUS INBOX (MESSAGES 17 HIGHESTMODSEQ 7011231777)\r\n"
    );
    assert_eq!(
        d(Data::Search {
            ids: vec![],
            mod_seq: None
        }),
        "* SEARCH\r\n"
    );
    assert_eq!(
        d(Data::Search {
            ids: vec![2, 5, 6],
            mod_seq: Some(917162500)
        }),
        "* SEARCH 2 5 6 (MODSEQ 917162500)\r\n"
    );
    assert_eq!(
        d(Data::Namespace {
            personal: vec![NamespaceEntry {
                prefix: String::new(),
                delimiter: Some('/')
            }],
            other: vec![],
            shared: vec![]
        }),
        "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"
    );
    assert_eq!(
        d(Data::Enabled(vec!["CONDSTORE".into()])),
        "* ENABLED CONDSTORE\r\n"
    );
    assert_eq!(d(Data::Id(None)), "* ID NIL\r\n");
    assert_eq!(
        d(Data::Id(Some(vec![
            ("name".into(), Some("kc".into())),
            ("os".into(), None)
        ]))),
        "* ID (\"name\" \"kc\" \"os\" NIL)\r\n"
    );
    assert_eq!(
        d(Data::Vanished {
            earlier: true,
            uids: SequenceSet::from_numbers(&[41, 43, 44, 45])
        }),
        "* VANISHED (EARLIER) 41,43:45\r\n"
    );
    assert_eq!(
        d(Data::Capability(vec!["IMAP4rev1".into(), "IDLE".into()])),
        "* CAPABILITY IMAP4rev1 IDLE\r\n"
    );
}

#[test]
fn fetch_items() {
    let date = ImapDateTime {
        date: ImapDate::new(1996, 7, 17).unwrap(),
        hour: 2,
        minute: 44,
        second: 25,
        offset_minutes: -420,
    };
    let items = vec![
        FetchItem::Flags(vec![Flag::Seen]),
        FetchItem::Uid(4827313),
        FetchItem::InternalDate(date),
        FetchItem::Rfc822Size(44827),
        FetchItem::ModSeq(12121231000),
        FetchItem::BodySection {
            section: Section {
                part: vec![],
                text: Some(SectionText::HeaderFields(vec!["From".into(), "x-a".into()])),
            },
            origin: None,
            data: Some(b"From: a\r\n\r\n".to_vec()),
        },
        FetchItem::BodySection {
            section: Section {
                part: vec![1, 2],
                text: Some(SectionText::Mime),
            },
            origin: Some(0),
            data: Some(b"abc".to_vec()),
        },
        FetchItem::BodySection {
            section: Section::default(),
            origin: None,
            data: None,
        },
        FetchItem::Binary {
            part: vec![1],
            origin: None,
            data: vec![0, 1],
        },
        FetchItem::BinarySize {
            part: vec![2],
            size: 10,
        },
    ];
    let s = wire(Response::Data(Data::Fetch { seq: 12, items }));
    assert_eq!(
        s,
        "* 12 FETCH (FLAGS (\\Seen) UID 4827313 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 44827 \
         MODSEQ (12121231000) BODY[HEADER.FIELDS (FROM X-A)] {11}\r\nFrom: a\r\n\r\n BODY[1.2.MIME]<0> {3}\r\nabc \
         BODY[] NIL BINARY[1] ~{2}\r\n\u{0}\u{1} BINARY.SIZE[2] 10)\r\n"
    );
    let _ = Partial {
        origin: 0,
        count: 1,
    };
}
