//! IMAP before login, as the edge answers it itself (pure, no I/O).
//!
//! Framing and parsing are kc-mail-proto's, the same code kc-gateway runs:
//! the [`Receiver`] with the edge's tighter [`LIMITS`], then
//! [`parse_command`]. This module only decides what the edge makes of a
//! parsed command: the commands RFC 3501 allows before login (CAPABILITY,
//! NOOP, LOGOUT, STARTTLS, AUTHENTICATE, LOGIN) plus ID (RFC 2971) are
//! served; a command of the logged-in states is refused as "log in first";
//! anything else is `BAD` and the session goes on.
//!
//! [`Receiver`]: kc_mail_proto::imap::receiver::Receiver

use kc_mail_proto::imap::parser::parse_command;
use kc_mail_proto::imap::protocol::Command as Parsed;
use kc_mail_proto::imap::receiver::{Limits, RawCommand};

use super::credentials::{valid_password, valid_user, Credentials};

/// Framing limits before login: short lines, literals only big enough for
/// a user name or password, and no skipping over a refused
/// non-synchronising literal (`max_discard` 0: the connection closes, as
/// RFC 7888 §4 allows), so an anonymous client cannot make the edge read
/// or hold much.
pub const LIMITS: Limits = Limits {
    max_line: 8192,
    max_literal: 4096,
    max_command: 16_384,
    max_literals: 4,
    max_discard: 0,
};

/// A command the edge serves before login.
#[derive(Clone, PartialEq, Eq)]
pub enum Command {
    /// CAPABILITY.
    Capability,
    /// NOOP.
    Noop,
    /// LOGOUT.
    Logout,
    /// STARTTLS.
    StartTls,
    /// ID with the client's field/value pairs (NIL values as `None`);
    /// only logged, never forwarded.
    Id(Vec<(String, Option<String>)>),
    /// LOGIN.
    Login(Credentials),
    /// AUTHENTICATE with the mechanism (upper case) and the decoded SASL-IR
    /// initial response (`=` gives an empty one).
    Authenticate {
        /// Mechanism name, upper case.
        mechanism: String,
        /// Decoded initial response, if any.
        initial: Option<Vec<u8>>,
    },
    /// A command of the logged-in states (its name).
    NeedsLogin(&'static str),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Authenticate { mechanism, initial } => f
                .debug_struct("Authenticate")
                .field("mechanism", mechanism)
                .field("initial", &initial.as_ref().map(|_| "<hidden>"))
                .finish(),
            Command::Login(c) => f.debug_tuple("Login").field(c).finish(),
            Command::Capability => f.write_str("Capability"),
            Command::Noop => f.write_str("Noop"),
            Command::Logout => f.write_str("Logout"),
            Command::StartTls => f.write_str("StartTls"),
            Command::Id(v) => f.debug_tuple("Id").field(v).finish(),
            Command::NeedsLogin(n) => f.debug_tuple("NeedsLogin").field(n).finish(),
        }
    }
}

/// A tagged command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The client's tag.
    pub tag: String,
    /// The command.
    pub command: Command,
}

/// A command that cannot be served; answered with `BAD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The tag, when the command had a valid one (else the reply is untagged).
    pub tag: Option<String>,
    /// Reason for the client.
    pub message: String,
}

/// Parses one framed command and says what the edge makes of it.
pub fn parse(raw: &RawCommand) -> Result<Request, ParseError> {
    let req = parse_command(raw).map_err(|e| ParseError {
        tag: e.tag,
        message: capitalised(&e.kind.to_string()),
    })?;
    let tag = req.tag;
    let bad = |message: &str| ParseError {
        tag: Some(tag.clone()),
        message: message.to_string(),
    };
    let command = match req.command {
        Parsed::Capability => Command::Capability,
        Parsed::Noop => Command::Noop,
        Parsed::Logout => Command::Logout,
        Parsed::StartTls => Command::StartTls,
        Parsed::Id(fields) => Command::Id(fields.unwrap_or_default()),
        Parsed::Login { username, password } => {
            let user = valid_user(&username).ok_or_else(|| bad("Invalid user name"))?;
            if !valid_password(&password) {
                return Err(bad("Invalid password"));
            }
            Command::Login(Credentials { user, password })
        }
        Parsed::Authenticate {
            mechanism,
            initial_response,
        } => Command::Authenticate {
            mechanism,
            initial: initial_response,
        },
        other => Command::NeedsLogin(other.name()),
    };
    Ok(Request { tag, command })
}

/// The parser's lower-case reason as the start of a reply text.
pub(super) fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kc_mail_proto::imap::receiver::{Event, Limits, Receiver, ReceiverErrorKind};

    fn frame(input: &[u8]) -> Vec<Event> {
        let mut a = Receiver::new(Limits {
            max_line: 64,
            max_literal: 16,
            max_literals: 2,
            max_command: 100,
            max_discard: 0,
        });
        a.feed(input);
        std::iter::from_fn(|| a.next_event()).collect()
    }

    fn cmd(line: &[u8]) -> Result<Request, ParseError> {
        parse(&RawCommand {
            bytes: line.to_vec(),
        })
    }

    fn error_kind(e: &Event) -> Option<(&Option<String>, &ReceiverErrorKind, bool)> {
        match e {
            Event::Error(e) => Some((&e.tag, &e.kind, e.fatal)),
            _ => None,
        }
    }

    #[test]
    fn frames_literals() {
        let ev = frame(b"a LOGIN {5}\r\nalice {3+}\r\npw!\r\nb NOOP\r\n");
        assert_eq!(ev[0], Event::Continue);
        let Event::Command(raw) = &ev[1] else {
            panic!("{ev:?}")
        };
        let r = parse(raw).unwrap();
        assert_eq!(
            r.command,
            Command::Login(Credentials {
                user: "alice".into(),
                password: b"pw!".to_vec()
            })
        );
        assert_eq!(
            parse(match &ev[2] {
                Event::Command(p) => p,
                e => panic!("{e:?}"),
            })
            .unwrap()
            .command,
            Command::Noop
        );
    }

    #[test]
    fn refuses_big_literals_and_long_lines() {
        let ev = frame(b"a LOGIN {99}\r\nb NOOP\r\n");
        let (tag, kind, fatal) = error_kind(&ev[0]).unwrap();
        assert_eq!(tag.as_deref(), Some("a"));
        assert!(matches!(kind, ReceiverErrorKind::LiteralTooBig { .. }));
        assert!(!fatal);
        assert!(matches!(ev[1], Event::Command(_)));
        let ev = frame(b"a LOGIN {99+}\r\n");
        assert_eq!(ev.len(), 1);
        assert!(error_kind(&ev[0]).unwrap().2, "{ev:?}");
        let mut long = b"t1 ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 100));
        long.extend_from_slice(b"\r\nt2 NOOP\r\n");
        let ev = frame(&long);
        assert!(matches!(ev[0], Event::Error(_)), "{ev:?}");
        assert!(matches!(&ev[1], Event::Command(p) if parse(p).unwrap().tag == "t2"));
        let ev = frame(b"a X {1}\r\n1 {1}\r\n2 {1}\r\n");
        assert!(
            ev.iter().any(|e| matches!(
                error_kind(e),
                Some((_, ReceiverErrorKind::TooManyLiterals, _))
            )),
            "{ev:?}"
        );
    }

    /// Issue #21, bug 5: an over-long line before login (a 31.8 KB ID,
    /// legal per RFC 2971) is refused with its tag, so the client gets a
    /// tagged BAD instead of waiting, and the next command is read.
    #[test]
    fn over_long_id_is_refused_with_its_tag() {
        let mut rx = Receiver::new(LIMITS);
        let fields: Vec<String> = (0..290)
            .map(|i| format!("\"k{i}\" \"{}\"", "v".repeat(100)))
            .collect();
        let line = format!("a7 ID ({})\r\na8 NOOP\r\n", fields.join(" "));
        assert!(line.len() > 31_000);
        // As a socket delivers it: in pieces.
        let mut ev = Vec::new();
        for chunk in line.as_bytes().chunks(4096) {
            rx.feed(chunk);
            ev.extend(std::iter::from_fn(|| rx.next_event()));
        }
        let (tag, kind, fatal) = error_kind(&ev[0]).unwrap();
        assert_eq!(tag.as_deref(), Some("a7"));
        assert!(matches!(kind, ReceiverErrorKind::LineTooLong));
        assert!(!fatal);
        assert!(matches!(&ev[1], Event::Command(p) if parse(p).unwrap().tag == "a8"));
        assert_eq!(ev.len(), 2, "{ev:?}");
    }

    #[test]
    fn parses_pre_auth_commands() {
        assert_eq!(cmd(b"a1 capability").unwrap().command, Command::Capability);
        assert_eq!(cmd(b"a1 NOOP").unwrap().tag, "a1");
        assert_eq!(
            cmd(b"x LOGIN \"al\\\"ice\" secret").unwrap().command,
            Command::Login(Credentials {
                user: "al\"ice".into(),
                password: b"secret".to_vec()
            })
        );
        assert_eq!(
            cmd(b"x AUTHENTICATE plain dGVzdA==").unwrap().command,
            Command::Authenticate {
                mechanism: "PLAIN".into(),
                initial: Some(b"test".to_vec())
            }
        );
        assert_eq!(
            cmd(b"x AUTHENTICATE PLAIN").unwrap().command,
            Command::Authenticate {
                mechanism: "PLAIN".into(),
                initial: None
            }
        );
        assert_eq!(
            cmd(b"i ID (\"name\" \"mutt\" \"version\" NIL)")
                .unwrap()
                .command,
            Command::Id(vec![
                ("name".into(), Some("mutt".into())),
                ("version".into(), None)
            ])
        );
        assert_eq!(cmd(b"i ID NIL").unwrap().command, Command::Id(vec![]));
        assert_eq!(
            cmd(b"s select INBOX").unwrap().command,
            Command::NeedsLogin("SELECT")
        );
        assert!(!format!("{:?}", cmd(b"x LOGIN u secret")).contains("secret"));
    }

    #[test]
    fn malformed_commands_keep_the_tag() {
        assert_eq!(cmd(b"").unwrap_err().tag, None);
        assert_eq!(cmd(b"+x NOOP").unwrap_err().tag, None);
        assert_eq!(cmd(b"a1 FROB").unwrap_err().tag.as_deref(), Some("a1"));
        assert_eq!(cmd(b"a1 NOOP x").unwrap_err().tag.as_deref(), Some("a1"));
        assert_eq!(
            cmd(b"a1 LOGIN onlyuser").unwrap_err().tag.as_deref(),
            Some("a1")
        );
        assert_eq!(
            cmd(b"a1 LOGIN \"open").unwrap_err().tag.as_deref(),
            Some("a1")
        );
        assert_eq!(
            cmd(b"a1 ID (\"k\")").unwrap_err().tag.as_deref(),
            Some("a1")
        );
        assert!(cmd(b"a1 LOGIN {3}").is_err());
        assert!(cmd(b"a1 LOGIN a\x01 b").is_err());
        assert_eq!(
            cmd(b"a1 LOGIN \" bob\" pw").unwrap_err().message,
            "Invalid user name"
        );
    }
}
