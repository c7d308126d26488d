//! SEARCH criteria (RFC 3501 §6.4.4, RFC 7162 §3.1.5 MODSEQ).

use super::{Flag, ImapDate, SequenceSet};

/// One search key. Strings are UTF-8 (the parser accepts only US-ASCII and
/// UTF-8 charsets); matching is the session's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    /// `ALL`.
    All,
    /// `ANSWERED`.
    Answered,
    /// `BCC s`.
    Bcc(String),
    /// `BEFORE date` (internal date).
    Before(ImapDate),
    /// `BODY s`.
    Body(String),
    /// `CC s`.
    Cc(String),
    /// `DELETED`.
    Deleted,
    /// `DRAFT`.
    Draft,
    /// `FLAGGED`.
    Flagged,
    /// `FROM s`.
    From(String),
    /// `HEADER field s`.
    Header(String, String),
    /// `KEYWORD flag`.
    Keyword(Flag),
    /// `LARGER n`.
    Larger(u32),
    /// `NEW` (recent and unseen).
    New,
    /// `NOT key`.
    Not(Box<SearchKey>),
    /// `OLD`.
    Old,
    /// `ON date`.
    On(ImapDate),
    /// `OR a b`.
    Or(Box<SearchKey>, Box<SearchKey>),
    /// `RECENT`.
    Recent,
    /// `SEEN`.
    Seen,
    /// `SENTBEFORE date` (Date: header).
    SentBefore(ImapDate),
    /// `SENTON date`.
    SentOn(ImapDate),
    /// `SENTSINCE date`.
    SentSince(ImapDate),
    /// `SINCE date`.
    Since(ImapDate),
    /// `SMALLER n`.
    Smaller(u32),
    /// `SUBJECT s`.
    Subject(String),
    /// `TEXT s`.
    Text(String),
    /// `TO s`.
    To(String),
    /// `UID set`.
    Uid(SequenceSet),
    /// `UNANSWERED`.
    Unanswered,
    /// `UNDELETED`.
    Undeleted,
    /// `UNDRAFT`.
    Undraft,
    /// `UNFLAGGED`.
    Unflagged,
    /// `UNKEYWORD flag`.
    Unkeyword(Flag),
    /// `UNSEEN`.
    Unseen,
    /// A bare sequence set.
    Sequence(SequenceSet),
    /// `( keys )`: all must match.
    And(Vec<SearchKey>),
    /// `MODSEQ [entry type] n`: the optional per-flag entry is parsed and
    /// dropped, since the store keeps one modseq per message.
    ModSeq(u64),
}
