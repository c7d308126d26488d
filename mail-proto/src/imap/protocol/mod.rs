//! Typed IMAP commands (what the parser produces) and the values they carry.
//!
//! Commands are grouped by the IMAP state in which they are valid; checking
//! the state is the session's job, not the parser's.

mod fetch;
mod mailbox;
mod message;
mod search;
mod sequence;

pub use fetch::{FetchAttr, Partial, Section, SectionText};
pub use mailbox::{
    ListArgs, ListReturn, ListSelection, Mailbox, QResync, SelectParams, StatusItem,
};
pub use message::{message_months, Flag, ImapDate, ImapDateTime, StoreOp};
pub use search::SearchKey;
pub use sequence::{SeqNum, SeqRange, SequenceSet};

/// One parsed command with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The client's tag, echoed in the tagged reply.
    pub tag: String,
    /// The command.
    pub command: Command,
}

/// Every command of IMAP4rev1 (RFC 3501) plus the supported extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    // Any state (RFC 3501 §6.1).
    /// `CAPABILITY`.
    Capability,
    /// `NOOP`.
    Noop,
    /// `LOGOUT`.
    Logout,
    /// `ID` (RFC 2971): `None` for `ID NIL`, else field/value pairs in order.
    Id(Option<Vec<(String, Option<String>)>>),

    // Not authenticated (RFC 3501 §6.2).
    /// `STARTTLS`.
    StartTls,
    /// `AUTHENTICATE mech [initial-response]` (SASL-IR, RFC 4959). The
    /// mechanism is upper-cased; the initial response is base64-decoded and
    /// `=` yields `Some(vec![])`.
    Authenticate {
        /// SASL mechanism name, upper case.
        mechanism: String,
        /// Decoded initial response, if one was sent.
        initial_response: Option<Vec<u8>>,
    },
    /// `LOGIN user password`; raw bytes, since KC clients may send
    /// windows-1252 and the charset decision belongs to the session.
    Login {
        /// User name bytes.
        username: Vec<u8>,
        /// Password bytes.
        password: Vec<u8>,
    },

    // Authenticated (RFC 3501 §6.3 and extensions).
    /// `SELECT mailbox [(CONDSTORE | QRESYNC ...)]`.
    Select {
        /// Mailbox to open read-write.
        mailbox: Mailbox,
        /// RFC 7162 parameters.
        params: SelectParams,
    },
    /// `EXAMINE`: as SELECT, read-only.
    Examine {
        /// Mailbox to open read-only.
        mailbox: Mailbox,
        /// RFC 7162 parameters.
        params: SelectParams,
    },
    /// `CREATE mailbox`.
    Create {
        /// New mailbox.
        mailbox: Mailbox,
    },
    /// `DELETE mailbox`.
    Delete {
        /// Mailbox to delete.
        mailbox: Mailbox,
    },
    /// `RENAME from to`.
    Rename {
        /// Existing name.
        from: Mailbox,
        /// New name.
        to: Mailbox,
    },
    /// `SUBSCRIBE mailbox`.
    Subscribe {
        /// Mailbox to subscribe.
        mailbox: Mailbox,
    },
    /// `UNSUBSCRIBE mailbox`.
    Unsubscribe {
        /// Mailbox to unsubscribe.
        mailbox: Mailbox,
    },
    /// `LIST`, basic or extended (RFC 5258).
    List(ListArgs),
    /// `LSUB reference pattern` (decoded from modified UTF-7).
    Lsub {
        /// Reference name.
        reference: String,
        /// Pattern with `*` / `%` wildcards.
        pattern: String,
    },
    /// `STATUS mailbox (items)`.
    Status {
        /// Mailbox to query.
        mailbox: Mailbox,
        /// Requested items, in order.
        items: Vec<StatusItem>,
    },
    /// `APPEND mailbox [flags] [date-time] literal`.
    Append {
        /// Target mailbox.
        mailbox: Mailbox,
        /// Initial flags.
        flags: Vec<Flag>,
        /// Internal date to set.
        date: Option<ImapDateTime>,
        /// The message bytes.
        message: Vec<u8>,
    },
    /// `NAMESPACE` (RFC 2342).
    Namespace,
    /// `ENABLE cap...` (RFC 5161), names upper-cased.
    Enable(Vec<String>),
    /// `IDLE` (RFC 2177); the session then reads `DONE` with
    /// [`crate::imap::receiver::Receiver::next_line`].
    Idle,

    // Selected (RFC 3501 §6.4 and extensions).
    /// `CHECK`.
    Check,
    /// `CLOSE`.
    Close,
    /// `UNSELECT` (RFC 3691).
    Unselect,
    /// `EXPUNGE`.
    Expunge,
    /// `UID EXPUNGE set` (RFC 4315).
    UidExpunge(SequenceSet),
    /// `[UID] SEARCH [CHARSET c] keys...`; the keys are ANDed.
    Search {
        /// Whether `UID` prefixed the command.
        uid: bool,
        /// Charset, upper-cased; only US-ASCII and UTF-8 are accepted.
        charset: Option<String>,
        /// Criteria, all of which must match.
        criteria: Vec<SearchKey>,
    },
    /// `[UID] FETCH set items [(CHANGEDSINCE n [VANISHED])]`.
    Fetch {
        /// Whether `UID` prefixed the command (UID is then implied in replies).
        uid: bool,
        /// Messages to fetch.
        set: SequenceSet,
        /// Attributes, macros expanded.
        attrs: Vec<FetchAttr>,
        /// RFC 7162 CHANGEDSINCE modifier.
        changed_since: Option<u64>,
        /// RFC 7162 VANISHED modifier (UID FETCH only).
        vanished: bool,
    },
    /// `[UID] STORE set [(UNCHANGEDSINCE n)] op flags`.
    Store {
        /// Whether `UID` prefixed the command.
        uid: bool,
        /// Messages to change.
        set: SequenceSet,
        /// RFC 7162 UNCHANGEDSINCE modifier.
        unchanged_since: Option<u64>,
        /// Replace, add or remove.
        op: StoreOp,
        /// `.SILENT`: no untagged FETCH replies.
        silent: bool,
        /// Flags to apply.
        flags: Vec<Flag>,
    },
    /// `[UID] COPY set mailbox`.
    Copy {
        /// Whether `UID` prefixed the command.
        uid: bool,
        /// Messages to copy.
        set: SequenceSet,
        /// Target mailbox.
        mailbox: Mailbox,
    },
    /// `[UID] MOVE set mailbox` (RFC 6851).
    Move {
        /// Whether `UID` prefixed the command.
        uid: bool,
        /// Messages to move.
        set: SequenceSet,
        /// Target mailbox.
        mailbox: Mailbox,
    },
}

impl Command {
    /// The command name as it appears in replies such as `OK FETCH completed`.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Capability => "CAPABILITY",
            Command::Noop => "NOOP",
            Command::Logout => "LOGOUT",
            Command::Id(_) => "ID",
            Command::StartTls => "STARTTLS",
            Command::Authenticate { .. } => "AUTHENTICATE",
            Command::Login { .. } => "LOGIN",
            Command::Select { .. } => "SELECT",
            Command::Examine { .. } => "EXAMINE",
            Command::Create { .. } => "CREATE",
            Command::Delete { .. } => "DELETE",
            Command::Rename { .. } => "RENAME",
            Command::Subscribe { .. } => "SUBSCRIBE",
            Command::Unsubscribe { .. } => "UNSUBSCRIBE",
            Command::List(_) => "LIST",
            Command::Lsub { .. } => "LSUB",
            Command::Status { .. } => "STATUS",
            Command::Append { .. } => "APPEND",
            Command::Namespace => "NAMESPACE",
            Command::Enable(_) => "ENABLE",
            Command::Idle => "IDLE",
            Command::Check => "CHECK",
            Command::Close => "CLOSE",
            Command::Unselect => "UNSELECT",
            Command::Expunge => "EXPUNGE",
            Command::UidExpunge(_) => "UID EXPUNGE",
            Command::Search { .. } => "SEARCH",
            Command::Fetch { .. } => "FETCH",
            Command::Store { .. } => "STORE",
            Command::Copy { .. } => "COPY",
            Command::Move { .. } => "MOVE",
        }
    }
}
