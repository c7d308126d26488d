//! Typed IMAP responses and their serialisation (RFC 3501 §7 plus the
//! response codes of RFC 4315, 5530, 7162 and 4469/7888).
//!
//! Every `serialize` appends complete CRLF-terminated lines to a buffer.
//! Free text (the human-readable part of a status response) has CR and LF
//! replaced by spaces so no caller can inject a line.

use super::protocol::{Flag, ImapDateTime, Mailbox, Section, SectionText, SequenceSet, StatusItem};
use super::quote::{write_astring, write_literal, write_nstring, write_string};

/// The kind of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `OK`.
    Ok,
    /// `NO`.
    No,
    /// `BAD`.
    Bad,
    /// `PREAUTH` (greeting only).
    PreAuth,
    /// `BYE`.
    Bye,
}

/// A bracketed response code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseCode {
    /// `ALERT`: show the text to the user.
    Alert,
    /// `BADCHARSET (charsets)`.
    BadCharset(Vec<String>),
    /// `CAPABILITY ...`.
    Capability(Vec<String>),
    /// `PARSE`: a message could not be parsed.
    Parse,
    /// `PERMANENTFLAGS (flags [\*])`; `true` adds `\*` (new keywords allowed).
    PermanentFlags(Vec<Flag>, bool),
    /// `READ-ONLY`.
    ReadOnly,
    /// `READ-WRITE`.
    ReadWrite,
    /// `TRYCREATE`.
    TryCreate,
    /// `UIDNEXT n`.
    UidNext(u32),
    /// `UIDVALIDITY n`.
    UidValidity(u32),
    /// `UNSEEN n`.
    Unseen(u32),
    /// `HIGHESTMODSEQ n` (RFC 7162).
    HighestModSeq(u64),
    /// `NOMODSEQ` (RFC 7162).
    NoModSeq,
    /// `MODIFIED set` (RFC 7162 STORE UNCHANGEDSINCE failures).
    Modified(SequenceSet),
    /// `APPENDUID uidvalidity uids` (RFC 4315).
    AppendUid {
        /// UIDVALIDITY of the target mailbox.
        uid_validity: u32,
        /// UID(s) assigned.
        uids: SequenceSet,
    },
    /// `COPYUID uidvalidity source-uids dest-uids` (RFC 4315).
    CopyUid {
        /// UIDVALIDITY of the target mailbox.
        uid_validity: u32,
        /// Source UIDs.
        source: SequenceSet,
        /// Destination UIDs, in the same order.
        dest: SequenceSet,
    },
    /// `CLOSED` (RFC 7162 §3.2.11).
    Closed,
    /// `UNAVAILABLE` (RFC 5530): temporary failure of a backend.
    Unavailable,
    /// `AUTHENTICATIONFAILED` (RFC 5530).
    AuthenticationFailed,
    /// `AUTHORIZATIONFAILED` (RFC 5530).
    AuthorizationFailed,
    /// `EXPIRED` (RFC 5530).
    Expired,
    /// `PRIVACYREQUIRED` (RFC 5530).
    PrivacyRequired,
    /// `CONTACTADMIN` (RFC 5530).
    ContactAdmin,
    /// `NOPERM` (RFC 5530).
    NoPerm,
    /// `INUSE` (RFC 5530).
    InUse,
    /// `EXPUNGEISSUED` (RFC 5530).
    ExpungeIssued,
    /// `CORRUPTION` (RFC 5530).
    Corruption,
    /// `SERVERBUG` (RFC 5530).
    ServerBug,
    /// `CLIENTBUG` (RFC 5530).
    ClientBug,
    /// `CANNOT` (RFC 5530).
    Cannot,
    /// `LIMIT` (RFC 5530).
    Limit,
    /// `OVERQUOTA` (RFC 5530).
    OverQuota,
    /// `ALREADYEXISTS` (RFC 5530).
    AlreadyExists,
    /// `NONEXISTENT` (RFC 5530).
    NonExistent,
    /// `TOOBIG` (RFC 4469/7889).
    TooBig,
}

impl ResponseCode {
    fn serialize(&self, out: &mut Vec<u8>) {
        let simple = |out: &mut Vec<u8>, s: &str| out.extend_from_slice(s.as_bytes());
        match self {
            ResponseCode::Alert => simple(out, "ALERT"),
            ResponseCode::BadCharset(list) => {
                simple(out, "BADCHARSET");
                if !list.is_empty() {
                    out.extend_from_slice(b" (");
                    for (i, c) in list.iter().enumerate() {
                        if i > 0 {
                            out.push(b' ');
                        }
                        write_astring(out, c.as_bytes());
                    }
                    out.push(b')');
                }
            }
            ResponseCode::Capability(caps) => {
                simple(out, "CAPABILITY");
                for c in caps {
                    out.push(b' ');
                    out.extend_from_slice(c.as_bytes());
                }
            }
            ResponseCode::Parse => simple(out, "PARSE"),
            ResponseCode::PermanentFlags(flags, new_keywords) => {
                simple(out, "PERMANENTFLAGS ");
                write_flags(out, flags, *new_keywords);
            }
            ResponseCode::ReadOnly => simple(out, "READ-ONLY"),
            ResponseCode::ReadWrite => simple(out, "READ-WRITE"),
            ResponseCode::TryCreate => simple(out, "TRYCREATE"),
            ResponseCode::UidNext(n) => simple(out, &format!("UIDNEXT {n}")),
            ResponseCode::UidValidity(n) => simple(out, &format!("UIDVALIDITY {n}")),
            ResponseCode::Unseen(n) => simple(out, &format!("UNSEEN {n}")),
            ResponseCode::HighestModSeq(n) => simple(out, &format!("HIGHESTMODSEQ {n}")),
            ResponseCode::NoModSeq => simple(out, "NOMODSEQ"),
            ResponseCode::Modified(set) => simple(out, &format!("MODIFIED {set}")),
            ResponseCode::AppendUid { uid_validity, uids } => {
                simple(out, &format!("APPENDUID {uid_validity} {uids}"))
            }
            ResponseCode::CopyUid {
                uid_validity,
                source,
                dest,
            } => simple(out, &format!("COPYUID {uid_validity} {source} {dest}")),
            ResponseCode::Closed => simple(out, "CLOSED"),
            ResponseCode::Unavailable => simple(out, "UNAVAILABLE"),
            ResponseCode::AuthenticationFailed => simple(out, "AUTHENTICATIONFAILED"),
            ResponseCode::AuthorizationFailed => simple(out, "AUTHORIZATIONFAILED"),
            ResponseCode::Expired => simple(out, "EXPIRED"),
            ResponseCode::PrivacyRequired => simple(out, "PRIVACYREQUIRED"),
            ResponseCode::ContactAdmin => simple(out, "CONTACTADMIN"),
            ResponseCode::NoPerm => simple(out, "NOPERM"),
            ResponseCode::InUse => simple(out, "INUSE"),
            ResponseCode::ExpungeIssued => simple(out, "EXPUNGEISSUED"),
            ResponseCode::Corruption => simple(out, "CORRUPTION"),
            ResponseCode::ServerBug => simple(out, "SERVERBUG"),
            ResponseCode::ClientBug => simple(out, "CLIENTBUG"),
            ResponseCode::Cannot => simple(out, "CANNOT"),
            ResponseCode::Limit => simple(out, "LIMIT"),
            ResponseCode::OverQuota => simple(out, "OVERQUOTA"),
            ResponseCode::AlreadyExists => simple(out, "ALREADYEXISTS"),
            ResponseCode::NonExistent => simple(out, "NONEXISTENT"),
            ResponseCode::TooBig => simple(out, "TOOBIG"),
        }
    }
}

fn write_flags(out: &mut Vec<u8>, flags: &[Flag], star: bool) {
    out.push(b'(');
    for (i, f) in flags.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(f.to_string().as_bytes());
    }
    if star {
        if !flags.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(b"\\*");
    }
    out.push(b')');
}

/// A namespace entry: prefix and hierarchy delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceEntry {
    /// Prefix (decoded); encoded to modified UTF-7 on output.
    pub prefix: String,
    /// Delimiter, `None` for a flat namespace.
    pub delimiter: Option<char>,
}

/// One FETCH data item in a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    /// `FLAGS (...)`.
    Flags(Vec<Flag>),
    /// `UID n`.
    Uid(u32),
    /// `INTERNALDATE "..."`.
    InternalDate(ImapDateTime),
    /// `RFC822.SIZE n`.
    Rfc822Size(u64),
    /// `MODSEQ (n)`.
    ModSeq(u64),
    /// `ENVELOPE (...)`: pre-serialised by the caller, which computes the
    /// envelope from the message (kc-gateway's MIME code).
    Envelope(Vec<u8>),
    /// `BODY (...)`: pre-serialised by the caller (kc-gateway's MIME code).
    Body(Vec<u8>),
    /// `BODYSTRUCTURE (...)`: pre-serialised.
    BodyStructure(Vec<u8>),
    /// `BODY[section]<origin> data` (`None` data: `NIL`).
    BodySection {
        /// The section, echoed as requested.
        section: Section,
        /// The partial origin, echoed when the request had a partial.
        origin: Option<u32>,
        /// The bytes.
        data: Option<Vec<u8>>,
    },
    /// `BINARY[part]<origin> ~{n}` (literal8, RFC 3516).
    Binary {
        /// Part path.
        part: Vec<u32>,
        /// The partial origin, if any.
        origin: Option<u32>,
        /// Decoded bytes.
        data: Vec<u8>,
    },
    /// `BINARY.SIZE[part] n`.
    BinarySize {
        /// Part path.
        part: Vec<u32>,
        /// Decoded size.
        size: u64,
    },
    /// `RFC822 data`.
    Rfc822(Vec<u8>),
    /// `RFC822.HEADER data`.
    Rfc822Header(Vec<u8>),
    /// `RFC822.TEXT data`.
    Rfc822Text(Vec<u8>),
}

fn write_part(out: &mut Vec<u8>, part: &[u32]) {
    for (i, p) in part.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(p.to_string().as_bytes());
    }
}

fn write_section(out: &mut Vec<u8>, s: &Section) {
    out.push(b'[');
    write_part(out, &s.part);
    if let Some(text) = &s.text {
        if !s.part.is_empty() {
            out.push(b'.');
        }
        let names = |out: &mut Vec<u8>, kw: &str, list: &[String]| {
            out.extend_from_slice(kw.as_bytes());
            out.extend_from_slice(b" (");
            for (i, n) in list.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_astring(out, n.to_ascii_uppercase().as_bytes());
            }
            out.push(b')');
        };
        match text {
            SectionText::Header => out.extend_from_slice(b"HEADER"),
            SectionText::Text => out.extend_from_slice(b"TEXT"),
            SectionText::Mime => out.extend_from_slice(b"MIME"),
            SectionText::HeaderFields(l) => names(out, "HEADER.FIELDS", l),
            SectionText::HeaderFieldsNot(l) => names(out, "HEADER.FIELDS.NOT", l),
        }
    }
    out.push(b']');
}

impl FetchItem {
    fn serialize(&self, out: &mut Vec<u8>) {
        match self {
            FetchItem::Flags(flags) => {
                out.extend_from_slice(b"FLAGS ");
                write_flags(out, flags, false);
            }
            FetchItem::Uid(n) => out.extend_from_slice(format!("UID {n}").as_bytes()),
            FetchItem::InternalDate(d) => {
                out.extend_from_slice(format!("INTERNALDATE \"{d}\"").as_bytes())
            }
            FetchItem::Rfc822Size(n) => {
                out.extend_from_slice(format!("RFC822.SIZE {n}").as_bytes())
            }
            FetchItem::ModSeq(n) => out.extend_from_slice(format!("MODSEQ ({n})").as_bytes()),
            FetchItem::Envelope(e) => {
                out.extend_from_slice(b"ENVELOPE ");
                out.extend_from_slice(e);
            }
            FetchItem::Body(b) => {
                out.extend_from_slice(b"BODY ");
                out.extend_from_slice(b);
            }
            FetchItem::BodyStructure(b) => {
                out.extend_from_slice(b"BODYSTRUCTURE ");
                out.extend_from_slice(b);
            }
            FetchItem::BodySection {
                section,
                origin,
                data,
            } => {
                out.extend_from_slice(b"BODY");
                write_section(out, section);
                if let Some(o) = origin {
                    out.extend_from_slice(format!("<{o}>").as_bytes());
                }
                out.push(b' ');
                // Message data goes as a literal whatever it holds, so the
                // client never has to unescape a quoted body.
                match data {
                    Some(d) => write_literal(out, d),
                    None => out.extend_from_slice(b"NIL"),
                }
            }
            FetchItem::Binary { part, origin, data } => {
                out.extend_from_slice(b"BINARY[");
                write_part(out, part);
                out.push(b']');
                if let Some(o) = origin {
                    out.extend_from_slice(format!("<{o}>").as_bytes());
                }
                out.extend_from_slice(format!(" ~{{{}}}\r\n", data.len()).as_bytes());
                out.extend_from_slice(data);
            }
            FetchItem::BinarySize { part, size } => {
                out.extend_from_slice(b"BINARY.SIZE[");
                write_part(out, part);
                out.extend_from_slice(format!("] {size}").as_bytes());
            }
            FetchItem::Rfc822(d) => {
                out.extend_from_slice(b"RFC822 ");
                write_literal(out, d);
            }
            FetchItem::Rfc822Header(d) => {
                out.extend_from_slice(b"RFC822.HEADER ");
                write_literal(out, d);
            }
            FetchItem::Rfc822Text(d) => {
                out.extend_from_slice(b"RFC822.TEXT ");
                write_literal(out, d);
            }
        }
    }
}

/// Untagged data responses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Data {
    /// `* CAPABILITY ...`.
    Capability(Vec<String>),
    /// `* FLAGS (...)`.
    Flags(Vec<Flag>),
    /// `* n EXISTS`.
    Exists(u32),
    /// `* n RECENT`.
    Recent(u32),
    /// `* n EXPUNGE`.
    Expunge(u32),
    /// `* LIST (attrs) "/" name` or `* LSUB ...`.
    List {
        /// `true` for LSUB.
        lsub: bool,
        /// Attributes such as `\HasNoChildren`, `\Sent`.
        attributes: Vec<String>,
        /// Hierarchy delimiter, `None` for NIL.
        delimiter: Option<char>,
        /// The mailbox.
        mailbox: Mailbox,
    },
    /// `* STATUS name (item value ...)`.
    Status {
        /// The mailbox.
        mailbox: Mailbox,
        /// Items with values.
        items: Vec<(StatusItem, u64)>,
    },
    /// `* SEARCH n ... [(MODSEQ m)]`.
    Search {
        /// Matching numbers.
        ids: Vec<u32>,
        /// Highest modseq of the matches, when MODSEQ was searched.
        mod_seq: Option<u64>,
    },
    /// `* n FETCH (...)`.
    Fetch {
        /// Sequence number.
        seq: u32,
        /// Items in order.
        items: Vec<FetchItem>,
    },
    /// `* NAMESPACE personal other shared` (empty list: NIL).
    Namespace {
        /// Personal namespaces.
        personal: Vec<NamespaceEntry>,
        /// Other users' namespaces.
        other: Vec<NamespaceEntry>,
        /// Shared namespaces.
        shared: Vec<NamespaceEntry>,
    },
    /// `* ENABLED cap ...`.
    Enabled(Vec<String>),
    /// `* ID (...)` or `* ID NIL`.
    Id(Option<Vec<(String, Option<String>)>>),
    /// `* VANISHED [(EARLIER)] uids` (RFC 7162).
    Vanished {
        /// `(EARLIER)`: in reply to a FETCH/SELECT, not a live expunge.
        earlier: bool,
        /// The UIDs.
        uids: SequenceSet,
    },
}

fn write_namespaces(out: &mut Vec<u8>, list: &[NamespaceEntry]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for ns in list {
        out.push(b'(');
        write_string(out, super::utf7::encode(&ns.prefix).as_bytes());
        out.push(b' ');
        write_delimiter(out, ns.delimiter);
        out.push(b')');
    }
    out.push(b')');
}

fn write_delimiter(out: &mut Vec<u8>, d: Option<char>) {
    match d {
        Some(c) => {
            let mut buf = [0u8; 4];
            write_string(out, c.encode_utf8(&mut buf).as_bytes());
        }
        None => out.extend_from_slice(b"NIL"),
    }
}

impl Data {
    /// Appends `* ...\r\n`.
    pub fn serialize(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"* ");
        match self {
            Data::Capability(caps) => {
                out.extend_from_slice(b"CAPABILITY");
                for c in caps {
                    out.push(b' ');
                    out.extend_from_slice(c.as_bytes());
                }
            }
            Data::Flags(flags) => {
                out.extend_from_slice(b"FLAGS ");
                write_flags(out, flags, false);
            }
            Data::Exists(n) => out.extend_from_slice(format!("{n} EXISTS").as_bytes()),
            Data::Recent(n) => out.extend_from_slice(format!("{n} RECENT").as_bytes()),
            Data::Expunge(n) => out.extend_from_slice(format!("{n} EXPUNGE").as_bytes()),
            Data::List {
                lsub,
                attributes,
                delimiter,
                mailbox,
            } => {
                out.extend_from_slice(if *lsub { b"LSUB (" } else { b"LIST (" });
                out.extend_from_slice(attributes.join(" ").as_bytes());
                out.extend_from_slice(b") ");
                write_delimiter(out, *delimiter);
                out.push(b' ');
                write_mailbox(out, mailbox);
            }
            Data::Status { mailbox, items } => {
                out.extend_from_slice(b"STATUS ");
                write_mailbox(out, mailbox);
                out.extend_from_slice(b" (");
                for (i, (item, value)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(format!("{} {value}", item.name()).as_bytes());
                }
                out.push(b')');
            }
            Data::Search { ids, mod_seq } => {
                out.extend_from_slice(b"SEARCH");
                for id in ids {
                    out.extend_from_slice(format!(" {id}").as_bytes());
                }
                if let Some(m) = mod_seq {
                    out.extend_from_slice(format!(" (MODSEQ {m})").as_bytes());
                }
            }
            Data::Fetch { seq, items } => {
                out.extend_from_slice(format!("{seq} FETCH (").as_bytes());
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    item.serialize(out);
                }
                out.push(b')');
            }
            Data::Namespace {
                personal,
                other,
                shared,
            } => {
                out.extend_from_slice(b"NAMESPACE ");
                write_namespaces(out, personal);
                out.push(b' ');
                write_namespaces(out, other);
                out.push(b' ');
                write_namespaces(out, shared);
            }
            Data::Enabled(caps) => {
                out.extend_from_slice(b"ENABLED");
                for c in caps {
                    out.push(b' ');
                    out.extend_from_slice(c.as_bytes());
                }
            }
            Data::Id(None) => out.extend_from_slice(b"ID NIL"),
            Data::Id(Some(pairs)) => {
                out.extend_from_slice(b"ID (");
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    write_string(out, k.as_bytes());
                    out.push(b' ');
                    write_nstring(out, v.as_deref().map(str::as_bytes));
                }
                out.push(b')');
            }
            Data::Vanished { earlier, uids } => {
                out.extend_from_slice(b"VANISHED ");
                if *earlier {
                    out.extend_from_slice(b"(EARLIER) ");
                }
                out.extend_from_slice(uids.to_string().as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Writes a mailbox name: modified UTF-7, as an atom when possible.
pub fn write_mailbox(out: &mut Vec<u8>, mailbox: &Mailbox) {
    write_astring(out, mailbox.to_wire().as_bytes());
}

/// A status response: tagged (`a1 OK ...`) or untagged (`* OK ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusResponse {
    /// `None` for untagged.
    pub tag: Option<String>,
    /// OK / NO / BAD / PREAUTH / BYE.
    pub status: Status,
    /// Optional bracketed code.
    pub code: Option<ResponseCode>,
    /// Human-readable text.
    pub text: String,
}

impl StatusResponse {
    /// A tagged response.
    pub fn tagged(tag: impl Into<String>, status: Status, text: impl Into<String>) -> Self {
        StatusResponse {
            tag: Some(tag.into()),
            status,
            code: None,
            text: text.into(),
        }
    }

    /// An untagged response.
    pub fn untagged(status: Status, text: impl Into<String>) -> Self {
        StatusResponse {
            tag: None,
            status,
            code: None,
            text: text.into(),
        }
    }

    /// Adds a response code.
    pub fn with_code(mut self, code: ResponseCode) -> Self {
        self.code = Some(code);
        self
    }

    /// Appends the response line.
    pub fn serialize(&self, out: &mut Vec<u8>) {
        match &self.tag {
            Some(t) => out.extend_from_slice(t.as_bytes()),
            None => out.push(b'*'),
        }
        out.extend_from_slice(match self.status {
            Status::Ok => b" OK",
            Status::No => b" NO",
            Status::Bad => b" BAD",
            Status::PreAuth => b" PREAUTH",
            Status::Bye => b" BYE",
        });
        if let Some(code) = &self.code {
            out.extend_from_slice(b" [");
            code.serialize(out);
            out.push(b']');
        }
        // resp-text needs at least one character after the code.
        let text = if self.text.is_empty() {
            "completed"
        } else {
            self.text.as_str()
        };
        out.push(b' ');
        out.extend(
            text.bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        out.extend_from_slice(b"\r\n");
    }
}

/// Anything the server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// A status response.
    Status(StatusResponse),
    /// Untagged data.
    Data(Data),
    /// `+ text`: continuation request (literal or SASL challenge, the
    /// latter already base64-encoded by the caller).
    Continue(String),
}

impl Response {
    /// Appends the wire form.
    pub fn serialize(&self, out: &mut Vec<u8>) {
        match self {
            Response::Status(s) => s.serialize(out),
            Response::Data(d) => d.serialize(out),
            Response::Continue(text) => {
                out.extend_from_slice(b"+ ");
                out.extend(text.bytes().filter(|&b| b != b'\r' && b != b'\n'));
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.serialize(&mut out);
        out
    }
}

#[cfg(test)]
mod tests;
