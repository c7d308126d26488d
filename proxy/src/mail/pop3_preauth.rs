//! POP3 before authentication, as the edge answers it itself (pure, no
//! I/O): the AUTHORIZATION-state commands of RFC 1939, CAPA (RFC 2449),
//! STLS (RFC 2595) and AUTH (RFC 5034), and the CAPA list.

use super::sasl::{valid_password, valid_user};

/// Longest command line before login (RFC 2449 allows 255 octets; AUTH
/// lines with an initial response may be longer, RFC 5034).
pub const MAX_LINE: usize = 2048;

/// A parsed AUTHORIZATION-state command.
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
    /// initial response (`=` means empty).
    Auth {
        /// Mechanism, upper case; `None`: list the mechanisms.
        mechanism: Option<String>,
        /// Initial response as sent (base64).
        initial: Option<Vec<u8>>,
    },
    /// QUIT.
    Quit,
    /// A TRANSACTION-state command (STAT, RETR, ...): needs a login.
    NeedsLogin(String),
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
            Command::NeedsLogin(n) => f.debug_tuple("NeedsLogin").field(n).finish(),
        }
    }
}

/// Why a line was refused (`-ERR` with this text; the session goes on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Pop3Error {
    /// Empty line or no keyword.
    #[error("Empty command")]
    Empty,
    /// A keyword this server does not know.
    #[error("Unknown command")]
    Unknown,
    /// Missing or malformed argument.
    #[error("Invalid arguments")]
    Arguments,
}

const TRANSACTION: &[&str] = &[
    "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP", "UIDL", "APOP", "UTF8",
];

/// Parses one command line (without CRLF).
pub fn parse_command(line: &[u8]) -> Result<Command, Pop3Error> {
    if line.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f) {
        return Err(Pop3Error::Arguments);
    }
    let (kw, rest) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    if kw.is_empty() {
        return Err(Pop3Error::Empty);
    }
    if kw.len() > 16 || !kw.iter().all(u8::is_ascii_alphanumeric) {
        return Err(Pop3Error::Unknown);
    }
    let kw = String::from_utf8_lossy(kw).to_ascii_uppercase();
    let none = |c: Command| match rest {
        None => Ok(c),
        Some(_) => Err(Pop3Error::Arguments),
    };
    match kw.as_str() {
        "CAPA" => none(Command::Capa),
        "STLS" => none(Command::Stls),
        "QUIT" => none(Command::Quit),
        "USER" => rest
            .and_then(valid_user)
            .map(Command::User)
            .ok_or(Pop3Error::Arguments),
        "PASS" => match rest {
            Some(p) if !p.is_empty() && valid_password(p) => Ok(Command::Pass(p.to_vec())),
            _ => Err(Pop3Error::Arguments),
        },
        "AUTH" => {
            let Some(args) = rest else {
                return Ok(Command::Auth {
                    mechanism: None,
                    initial: None,
                });
            };
            let mut words = args.split(|&b| b == b' ');
            let mech = words.next().filter(|m| {
                !m.is_empty() && m.len() <= 20 && m.iter().all(|&b| b.is_ascii_graphic())
            });
            let Some(mech) = mech else {
                return Err(Pop3Error::Arguments);
            };
            let initial = words.next().map(<[u8]>::to_vec);
            if words.next().is_some() || initial.as_ref().is_some_and(Vec::is_empty) {
                return Err(Pop3Error::Arguments);
            }
            Ok(Command::Auth {
                mechanism: Some(String::from_utf8_lossy(mech).to_ascii_uppercase()),
                initial,
            })
        }
        k if TRANSACTION.contains(&k) => Ok(Command::NeedsLogin(kw)),
        _ => Err(Pop3Error::Unknown),
    }
}

/// The CAPA list before login, consistent with kc-gateway's list after
/// login plus what only applies before it.
pub fn capabilities(
    tls_active: bool,
    stls_available: bool,
    plaintext_ok: bool,
) -> Vec<&'static str> {
    let mut caps = vec![
        "CAPA",
        "TOP",
        "UIDL",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
    ];
    if !tls_active && stls_available {
        caps.push("STLS");
    }
    if tls_active || plaintext_ok {
        caps.push("USER");
        caps.push("SASL PLAIN");
    }
    caps
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
                initial: Some(b"AGFAYg==".to_vec())
            })
        );
        assert_eq!(
            parse_command(b"AUTH"),
            Ok(Command::Auth {
                mechanism: None,
                initial: None
            })
        );
        assert_eq!(
            parse_command(b"STAT"),
            Ok(Command::NeedsLogin("STAT".into()))
        );
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

    #[test]
    fn capa_list() {
        assert_eq!(capabilities(false, true, false).last(), Some(&"STLS"));
        let tls = capabilities(true, true, false);
        assert!(tls.contains(&"USER") && !tls.contains(&"STLS"));
    }
}
