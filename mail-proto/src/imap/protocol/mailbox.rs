//! Mailbox names and the arguments of SELECT, LIST and STATUS.

use crate::imap::utf7::{self, Utf7Error};

/// A mailbox name, decoded from modified UTF-7. Any case of `INBOX` is
/// stored as `INBOX` (RFC 3501 §5.1: INBOX is case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox(String);

impl Mailbox {
    /// Decodes a name as sent by a client.
    pub fn from_wire(bytes: &[u8]) -> Result<Mailbox, Utf7Error> {
        let name = utf7::decode(bytes)?;
        Ok(Mailbox::new(name))
    }

    /// Wraps an already decoded name, normalising INBOX.
    pub fn new(name: String) -> Mailbox {
        if name.eq_ignore_ascii_case("INBOX") {
            Mailbox("INBOX".to_string())
        } else {
            Mailbox(name)
        }
    }

    /// The decoded (UTF-8) name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the INBOX.
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }

    /// The name encoded for the wire (modified UTF-7).
    pub fn to_wire(&self) -> String {
        utf7::encode(&self.0)
    }
}

/// RFC 7162 QRESYNC parameters of SELECT/EXAMINE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QResync {
    /// The UIDVALIDITY the client last knew.
    pub uid_validity: u32,
    /// The HIGHESTMODSEQ the client last knew.
    pub mod_seq: u64,
    /// UIDs the client knows about.
    pub known_uids: Option<super::SequenceSet>,
    /// Sequence numbers and the UIDs they mapped to, for expunge detection.
    pub seq_match: Option<(super::SequenceSet, super::SequenceSet)>,
}

/// SELECT/EXAMINE parameters (RFC 4466 syntax, RFC 7162 values).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelectParams {
    /// `(CONDSTORE)`.
    pub condstore: bool,
    /// `(QRESYNC (...))`.
    pub qresync: Option<QResync>,
}

/// RFC 5258 selection options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListSelection {
    /// `SUBSCRIBED`.
    pub subscribed: bool,
    /// `REMOTE`.
    pub remote: bool,
    /// `RECURSIVEMATCH` (only valid with another option).
    pub recursive_match: bool,
    /// `SPECIAL-USE` (RFC 6154).
    pub special_use: bool,
}

/// RFC 5258 return options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListReturn {
    /// `SUBSCRIBED`.
    pub subscribed: bool,
    /// `CHILDREN`.
    pub children: bool,
    /// `SPECIAL-USE`.
    pub special_use: bool,
    /// `STATUS (items)` (RFC 5819).
    pub status: Option<Vec<StatusItem>>,
}

/// Arguments of LIST.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListArgs {
    /// Selection options; all false for a basic LIST.
    pub selection: ListSelection,
    /// Reference name (decoded).
    pub reference: String,
    /// One or more patterns (decoded); several only in extended syntax.
    pub patterns: Vec<String>,
    /// Return options.
    pub returns: ListReturn,
    /// Whether the client used any RFC 5258 syntax (so the reply may
    /// carry extended data).
    pub extended: bool,
}

/// A STATUS data item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `MESSAGES`.
    Messages,
    /// `RECENT`.
    Recent,
    /// `UIDNEXT`.
    UidNext,
    /// `UIDVALIDITY`.
    UidValidity,
    /// `UNSEEN`.
    Unseen,
    /// `HIGHESTMODSEQ` (RFC 7162).
    HighestModSeq,
    /// `SIZE` (RFC 8438).
    Size,
}

impl StatusItem {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::Recent => "RECENT",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
            StatusItem::Size => "SIZE",
        }
    }
}
