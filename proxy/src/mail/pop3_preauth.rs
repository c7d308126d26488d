//! POP3 before login, as the edge answers it itself (pure, no I/O).
//!
//! Lines are parsed by kc-mail-proto's POP3 parser, the one kc-gateway
//! runs; this module adds the edge's stricter checks (no control
//! characters, bounded and well-formed user names and passwords) and
//! decides what the edge makes of each command: the AUTHORIZATION-state
//! commands of RFC 1939, CAPA (RFC 2449), STLS (RFC 2595) and AUTH
//! (RFC 5034) are served, TRANSACTION-state commands need a login first,
//! and XCLIENT is never taken from a client.

use kc_mail_proto::pop3::parser::{self, Command as Parsed};

use super::credentials::{valid_password, valid_user};

/// Longest line the edge reads before login. The parser itself holds
/// commands to RFC 2449's 255 octets and AUTH lines (RFC 5034) to 1000.
pub const MAX_LINE: usize = 2048;

/// A command the edge serves before login.
#[derive(Clone, PartialEq, Eq)]
pub enum Command {
    /// CAPA.
    Capa,
    /// STLS.
    Stls,
    /// USER name.
    User(String),
    /// PASS password (the rest of the line, spaces included).
    Pass(Vec<u8>),
    /// AUTH without a mechanism (list them) or with one and an optional
    /// decoded initial response (`=` gives an empty one).
    Auth {
        /// Mechanism, upper case; `None`: list the mechanisms.
        mechanism: Option<String>,
        /// Decoded initial response.
        initial: Option<Vec<u8>>,
    },
    /// QUIT.
    Quit,
    /// A TRANSACTION-state command (STAT, RETR, ...): needs a login.
    NeedsLogin,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Capa => f.write_str("Capa"),
            Command::Stls => f.write_str("Stls"),
            Command::User(u) => f.debug_tuple("User").field(u).finish(),
            Command::Pass(_) => f.write_str("Pass(<hidden>)"),
            Command::Auth { mechanism, initial } => f
                .debug_struct("Auth")
                .field("mechanism", mechanism)
                .field("initial", &initial.as_ref().map(|_| "<hidden>"))
                .finish(),
            Command::Quit => f.write_str("Quit"),
            Command::NeedsLogin => f.write_str("NeedsLogin"),
        }
    }
}

/// Why a line was refused (`-ERR` with this text; the session goes on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Pop3Error {
    /// Empty line or no keyword.
    #[error("Empty command")]
    Empty,
    /// A keyword this server does not take before login.
    #[error("Unknown command")]
    Unknown,
    /// Missing or malformed argument.
    #[error("Invalid arguments")]
    Arguments,
}

/// Parses one command line (without CRLF).
pub fn parse_command(line: &[u8]) -> Result<Command, Pop3Error> {
    if line.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f) {
        return Err(Pop3Error::Arguments);
    }
    if line
        .split(|&b| b == b' ')
        .next()
        .is_none_or(<[u8]>::is_empty)
    {
        return Err(Pop3Error::Empty);
    }
    let parsed = parser::parse_command(line).map_err(|e| match e {
        parser::Pop3Error::UnknownCommand | parser::Pop3Error::NotSupported(_) => {
            Pop3Error::Unknown
        }
        _ => Pop3Error::Arguments,
    })?;
    Ok(match parsed {
        Parsed::Capa => Command::Capa,
        Parsed::Stls => Command::Stls,
        Parsed::Quit => Command::Quit,
        Parsed::User(name) => {
            Command::User(valid_user(name.as_bytes()).ok_or(Pop3Error::Arguments)?)
        }
        Parsed::Pass(p) if valid_password(&p) => Command::Pass(p),
        Parsed::Pass(_) => return Err(Pop3Error::Arguments),
        Parsed::Auth {
            mechanism,
            initial_response,
        } => Command::Auth {
            mechanism,
            initial: initial_response,
        },
        Parsed::Xclient(_) => return Err(Pop3Error::Unknown),
        Parsed::Stat
        | Parsed::List(_)
        | Parsed::Uidl(_)
        | Parsed::Retr(_)
        | Parsed::Top { .. }
        | Parsed::Dele(_)
        | Parsed::Rset
        | Parsed::Noop => Command::NeedsLogin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(parse_command(b"capa"), Ok(Command::Capa));
        assert_eq!(
            parse_command(b"USER alice"),
            Ok(Command::User("alice".into()))
        );
        assert_eq!(
            parse_command(b"PASS a b c"),
            Ok(Command::Pass(b"a b c".to_vec()))
        );
        assert_eq!(
            parse_command(b"AUTH plain AGFAYg=="),
            Ok(Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial: Some(b"\0a@b".to_vec())
            })
        );
        assert_eq!(
            parse_command(b"AUTH"),
            Ok(Command::Auth {
                mechanism: None,
                initial: None
            })
        );
        assert_eq!(parse_command(b"STAT"), Ok(Command::NeedsLogin));
        assert_eq!(parse_command(b""), Err(Pop3Error::Empty));
        assert_eq!(
            parse_command(b"XCLIENT ADDR=1.2.3.4"),
            Err(Pop3Error::Unknown)
        );
        assert_eq!(parse_command(b"USER"), Err(Pop3Error::Arguments));
        assert_eq!(parse_command(b"PASS "), Err(Pop3Error::Arguments));
        assert_eq!(parse_command(b"CAPA x"), Err(Pop3Error::Arguments));
        assert_eq!(parse_command(b"AUTH PLAIN a b"), Err(Pop3Error::Arguments));
        assert_eq!(parse_command(b"US\x00ER a"), Err(Pop3Error::Arguments));
        assert!(!format!("{:?}", parse_command(b"PASS secret")).contains("secret"));
    }
}
