//! IMAP command parser: a framed [`RawCommand`] in, a typed [`Request`] out.
//!
//! Hand-written recursive descent over the bytes the receiver framed, rather
//! than the `imap-codec` crate: its 2.x line is still alpha (the API moves
//! between releases), its types would leak into the whole gateway, and the
//! project needs errors that always carry the tag plus limits of its own
//! (nesting depth, ID sizes, charsets) enforced in one place. The grammar
//! followed is RFC 3501 §9 with the ABNF of RFC 4466 (extended SELECT/FETCH/
//! STORE/LIST parameters), 4959, 5161, 5258, 6154, 2971, 3691, 4315, 6851
//! and 7162.
//!
//! Any malformed input yields a [`ParseError`] that keeps the tag when the
//! command began with a valid one; nothing here panics or recurses without
//! a bound ([`MAX_DEPTH`]).

mod append;
pub(crate) mod cursor;
mod fetch;
mod mailbox;
mod search;
mod sequence;
mod session;
mod store;

use thiserror::Error;

use super::protocol::{Command, Request};
use super::receiver::{is_tag_char, RawCommand};
use super::utf7::Utf7Error;
use cursor::Cursor;

pub(crate) use cursor::PResult;
pub use cursor::{is_astring_char, is_atom_char};

/// Deepest nesting of parenthesised lists and NOT/OR operators accepted in
/// one command (SEARCH is the only recursive grammar).
pub const MAX_DEPTH: usize = 64;

/// Why a command was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The line did not start with a valid tag and a space.
    #[error("missing or invalid tag")]
    BadTag,
    /// The command name is not known.
    #[error("unknown command")]
    UnknownCommand,
    /// A token was missing or malformed.
    #[error("expected {0}")]
    Expected(&'static str),
    /// Bytes were left after a complete command.
    #[error("unexpected characters at end of command")]
    TrailingData,
    /// A number does not fit its field.
    #[error("number out of range")]
    NumberTooBig,
    /// Lists or operators nested deeper than [`MAX_DEPTH`].
    #[error("too deeply nested")]
    TooDeep,
    /// A mailbox name is not valid modified UTF-7.
    #[error("invalid mailbox name: {0}")]
    BadMailbox(Utf7Error),
    /// A SEARCH charset other than US-ASCII or UTF-8.
    #[error("unsupported charset")]
    BadCharset,
    /// A string is not valid UTF-8 where text is required.
    #[error("invalid UTF-8")]
    BadUtf8,
    /// A NUL byte inside a literal (allowed only in literal8).
    #[error("NUL in literal")]
    NulInLiteral,
    /// Invalid base64 in AUTHENTICATE.
    #[error("invalid base64")]
    BadBase64,
    /// A date or date-time that does not exist.
    #[error("invalid date")]
    BadDate,
    /// An option or item name not understood.
    #[error("unknown option {0}")]
    UnknownOption(String),
    /// An ID list broke RFC 2971's limits.
    #[error("ID parameters too long or too many")]
    IdTooLong,
}

/// A rejected command: reply `<tag> BAD <text>` (or `* BAD` without a tag),
/// except [`ParseErrorKind::BadCharset`], which is `NO [BADCHARSET ...]`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind}")]
pub struct ParseError {
    /// The tag, if the command started with a valid one.
    pub tag: Option<String>,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

impl From<Utf7Error> for ParseErrorKind {
    fn from(e: Utf7Error) -> Self {
        ParseErrorKind::BadMailbox(e)
    }
}

/// Parses one framed command.
pub fn parse_command(raw: &RawCommand) -> Result<Request, ParseError> {
    parse_bytes(&raw.bytes)
}

/// Parses one command from its bytes (framing as produced by the receiver).
pub fn parse_bytes(bytes: &[u8]) -> Result<Request, ParseError> {
    let mut c = Cursor::new(bytes);
    let tag_bytes = c.take_while(is_tag_char);
    if tag_bytes.is_empty() || tag_bytes.len() > 256 || c.peek() != Some(b' ') {
        return Err(ParseError {
            tag: None,
            kind: ParseErrorKind::BadTag,
        });
    }
    let tag = String::from_utf8_lossy(tag_bytes).into_owned();
    let result = c.sp().and_then(|()| command(&mut c)).and_then(|cmd| {
        c.end()?;
        Ok(cmd)
    });
    match result {
        Ok(command) => Ok(Request { tag, command }),
        Err(kind) => Err(ParseError {
            tag: Some(tag),
            kind,
        }),
    }
}

fn command(c: &mut Cursor<'_>) -> PResult<Command> {
    let name = c.atom_upper().map_err(|_| ParseErrorKind::UnknownCommand)?;
    let simple = |cmd: Command| Ok(cmd);
    match name.as_str() {
        "CAPABILITY" => simple(Command::Capability),
        "NOOP" => simple(Command::Noop),
        "LOGOUT" => simple(Command::Logout),
        "STARTTLS" => simple(Command::StartTls),
        "NAMESPACE" => simple(Command::Namespace),
        "IDLE" => simple(Command::Idle),
        "CHECK" => simple(Command::Check),
        "CLOSE" => simple(Command::Close),
        "UNSELECT" => simple(Command::Unselect),
        "EXPUNGE" => simple(Command::Expunge),
        "LOGIN" => session::login(c),
        "AUTHENTICATE" => session::authenticate(c),
        "ENABLE" => session::enable(c),
        "ID" => session::id(c),
        "SELECT" => mailbox::select(c, false),
        "EXAMINE" => mailbox::select(c, true),
        "CREATE" => mailbox::create(c),
        "DELETE" => mailbox::delete(c),
        "RENAME" => mailbox::rename(c),
        "SUBSCRIBE" => mailbox::subscribe(c, true),
        "UNSUBSCRIBE" => mailbox::subscribe(c, false),
        "LIST" => mailbox::list(c),
        "LSUB" => mailbox::lsub(c),
        "STATUS" => mailbox::status(c),
        "APPEND" => append::append(c),
        "SEARCH" => search::search(c, false),
        "FETCH" => fetch::fetch(c, false),
        "STORE" => store::store(c, false),
        "COPY" => store::copy_move(c, false, false),
        "MOVE" => store::copy_move(c, false, true),
        "UID" => uid(c),
        _ => Err(ParseErrorKind::UnknownCommand),
    }
}

/// How a command refused for a mailbox name that is not valid modified
/// UTF-7 ([`ParseErrorKind::BadMailbox`]) is answered: such a mailbox
/// cannot exist, so, as Dovecot does, LIST and LSUB succeed with no
/// entries and the other commands get `NO`, not `BAD` (the command is well
/// formed; only the name is unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidNameAnswer {
    /// `OK`, nothing listed (LIST, LSUB).
    EmptyList,
    /// `NO [CANNOT]`: the name cannot be created (CREATE, RENAME).
    Cannot,
    /// `NO [NONEXISTENT]`: no mailbox has that name.
    NonExistent,
}

/// The answer to `bytes`, a command refused with
/// [`ParseErrorKind::BadMailbox`] (decided by its name, after a `UID`).
pub fn invalid_name_answer(bytes: &[u8]) -> InvalidNameAnswer {
    let mut words = bytes
        .split(|&b| b == b' ')
        .skip(1)
        .map(|w| w.to_ascii_uppercase());
    let mut name = words.next().unwrap_or_default();
    if name == b"UID" {
        name = words.next().unwrap_or_default();
    }
    match name.as_slice() {
        b"LIST" | b"LSUB" => InvalidNameAnswer::EmptyList,
        b"CREATE" | b"RENAME" => InvalidNameAnswer::Cannot,
        _ => InvalidNameAnswer::NonExistent,
    }
}

/// Whether a raw line ends IDLE (RFC 2177: `DONE`, any case). Anything
/// else received during IDLE is a protocol error; the session answers the
/// IDLE command with `BAD`.
pub fn is_idle_done(line: &[u8]) -> bool {
    line.trim_ascii_end().eq_ignore_ascii_case(b"DONE")
}

/// A client line during AUTHENTICATE (RFC 3501 §6.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslResponse {
    /// `*`: the client cancels; answer `BAD`.
    Cancel,
    /// The decoded response (an empty line is an empty response).
    Data(Vec<u8>),
}

/// Parses a line read with [`super::receiver::Receiver::next_line`] while
/// an AUTHENTICATE exchange is in progress.
pub fn parse_sasl_response(line: &[u8]) -> Result<SaslResponse, ParseErrorKind> {
    let line = line.trim_ascii();
    if line == b"*" {
        Ok(SaslResponse::Cancel)
    } else if line.is_empty() {
        Ok(SaslResponse::Data(Vec::new()))
    } else {
        session::decode_base64(line).map(SaslResponse::Data)
    }
}

fn uid(c: &mut Cursor<'_>) -> PResult<Command> {
    c.sp()?;
    let name = c.atom_upper().map_err(|_| ParseErrorKind::UnknownCommand)?;
    match name.as_str() {
        "FETCH" => fetch::fetch(c, true),
        "SEARCH" => search::search(c, true),
        "STORE" => store::store(c, true),
        "COPY" => store::copy_move(c, true, false),
        "MOVE" => store::copy_move(c, true, true),
        "EXPUNGE" => {
            c.sp()?;
            Ok(Command::UidExpunge(sequence::sequence_set(c)?))
        }
        _ => Err(ParseErrorKind::UnknownCommand),
    }
}

#[cfg(test)]
mod tests;
