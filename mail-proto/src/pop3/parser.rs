//! POP3 line framing and command parsing.
//!
//! Commands are case-insensitive keywords with space-separated arguments
//! (RFC 1939 §3). A command line may be at most 255 octets including CRLF
//! (RFC 2449 §4); AUTH lines and SASL continuation lines may reach
//! [`MAX_AUTH_LINE`], since base64 credentials can be long. Bytes beyond that
//! are dropped up to the next line end and reported as one error, after
//! which the session continues.

use base64::Engine;
use thiserror::Error;

/// Longest command line including CRLF (RFC 2449 §4).
pub const MAX_LINE: usize = 255;
/// Longest AUTH or SASL continuation line including CRLF.
pub const MAX_AUTH_LINE: usize = 1000;

/// A parsed POP3 command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `USER name`.
    User(String),
    /// `PASS secret`: everything after the first space, spaces included.
    Pass(Vec<u8>),
    /// `AUTH [mechanism [initial-response]]`: no mechanism lists them.
    /// The mechanism is upper-cased; `=` as initial response means empty.
    Auth {
        /// SASL mechanism.
        mechanism: Option<String>,
        /// Decoded initial response (RFC 5034 §4).
        initial_response: Option<Vec<u8>>,
    },
    /// `CAPA`.
    Capa,
    /// `STLS`.
    Stls,
    /// `STAT`.
    Stat,
    /// `LIST [msg]`.
    List(Option<u32>),
    /// `UIDL [msg]`.
    Uidl(Option<u32>),
    /// `RETR msg`.
    Retr(u32),
    /// `TOP msg lines`.
    Top {
        /// Message number.
        msg: u32,
        /// Body lines to send after the header.
        lines: u32,
    },
    /// `DELE msg`.
    Dele(u32),
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `XCLIENT NAME=VALUE ...` from a trusted edge (Dovecot's form):
    /// names upper-cased, values as sent.
    Xclient(Vec<(String, String)>),
}

/// A line or command that cannot be accepted; answer `-ERR` and go on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Pop3Error {
    /// The line exceeded the limit.
    #[error("line too long")]
    LineTooLong,
    /// Unknown command keyword.
    #[error("unknown command")]
    UnknownCommand,
    /// A command this server refuses by design (APOP: no shared secrets).
    #[error("{0} not supported")]
    NotSupported(&'static str),
    /// Wrong number or form of arguments.
    #[error("syntax error: {0}")]
    Syntax(&'static str),
    /// A message number that is not a positive 32-bit number.
    #[error("invalid message number")]
    BadNumber,
    /// Invalid base64 in AUTH.
    #[error("invalid base64")]
    BadBase64,
}

/// Splits a byte stream into lines (CRLF or bare LF), with a length limit.
#[derive(Debug, Default)]
pub struct LineReceiver {
    buf: Vec<u8>,
    pos: usize,
    skipping: bool,
}

impl LineReceiver {
    /// A receiver with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes read from the connection.
    pub fn feed(&mut self, data: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next line without its ending, `None` when more input is needed.
    /// Lines longer than [`MAX_AUTH_LINE`] yield one `LineTooLong`.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, Pop3Error>> {
        loop {
            let rest = &self.buf[self.pos..];
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.pos += i + 1;
                    if self.skipping {
                        self.skipping = false;
                        continue;
                    }
                    if i + 1 > MAX_AUTH_LINE {
                        return Some(Err(Pop3Error::LineTooLong));
                    }
                    let mut line = rest[..i].to_vec();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Some(Ok(line));
                }
                None if rest.len() >= MAX_AUTH_LINE && !self.skipping => {
                    self.pos = self.buf.len();
                    self.skipping = true;
                    return Some(Err(Pop3Error::LineTooLong));
                }
                None => {
                    if self.skipping {
                        self.pos = self.buf.len();
                    }
                    return None;
                }
            }
        }
    }
}

fn number(arg: &[u8]) -> Result<u32, Pop3Error> {
    if arg.is_empty() || arg.len() > 10 || !arg.iter().all(u8::is_ascii_digit) {
        return Err(Pop3Error::BadNumber);
    }
    let n: u64 = arg.iter().fold(0, |a, d| a * 10 + u64::from(d - b'0'));
    match u32::try_from(n) {
        Ok(0) | Err(_) => Err(Pop3Error::BadNumber),
        Ok(n) => Ok(n),
    }
}

/// TOP's line count may be zero.
fn count(arg: &[u8]) -> Result<u32, Pop3Error> {
    if arg == b"0" {
        Ok(0)
    } else {
        number(arg)
    }
}

/// Decodes a SASL response or initial response; `=` is the empty response.
pub fn decode_sasl(arg: &[u8]) -> Result<Vec<u8>, Pop3Error> {
    if arg == b"=" {
        return Ok(Vec::new());
    }
    base64::engine::general_purpose::STANDARD
        .decode(arg)
        .map_err(|_| Pop3Error::BadBase64)
}

/// A client line during an AUTH exchange (RFC 5034 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslLine {
    /// `*`: the client cancels.
    Cancel,
    /// Decoded response data.
    Data(Vec<u8>),
}

/// Parses a SASL continuation line.
pub fn parse_sasl_line(line: &[u8]) -> Result<SaslLine, Pop3Error> {
    let line = line.trim_ascii();
    if line == b"*" {
        return Ok(SaslLine::Cancel);
    }
    if line.is_empty() {
        return Ok(SaslLine::Data(Vec::new()));
    }
    decode_sasl(line).map(SaslLine::Data)
}

/// Parses one command line (without its line ending).
pub fn parse_command(line: &[u8]) -> Result<Command, Pop3Error> {
    let (keyword, rest) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &b""[..]),
    };
    let keyword = keyword.to_ascii_uppercase();
    let limit = if keyword == b"AUTH" {
        MAX_AUTH_LINE
    } else {
        MAX_LINE
    };
    if line.len() + 2 > limit {
        return Err(Pop3Error::LineTooLong);
    }
    // PASS keeps its argument verbatim; the others split on spaces.
    if keyword == b"PASS" {
        if rest.is_empty() {
            return Err(Pop3Error::Syntax("PASS needs a password"));
        }
        return Ok(Command::Pass(rest.to_vec()));
    }
    let args: Vec<&[u8]> = rest
        .split(|&b| b == b' ')
        .filter(|a| !a.is_empty())
        .collect();
    let none = |cmd: Command| {
        if args.is_empty() {
            Ok(cmd)
        } else {
            Err(Pop3Error::Syntax("no arguments expected"))
        }
    };
    let one = || match args.as_slice() {
        [a] => number(a),
        _ => Err(Pop3Error::Syntax("one message number expected")),
    };
    let optional = || match args.as_slice() {
        [] => Ok(None),
        [a] => number(a).map(Some),
        _ => Err(Pop3Error::Syntax("at most one message number expected")),
    };
    match keyword.as_slice() {
        b"USER" => match args.as_slice() {
            [name] => String::from_utf8(name.to_vec())
                .map(Command::User)
                .map_err(|_| Pop3Error::Syntax("user name is not UTF-8")),
            _ => Err(Pop3Error::Syntax("USER needs one name")),
        },
        b"APOP" => Err(Pop3Error::NotSupported("APOP")),
        b"AUTH" => match args.as_slice() {
            [] => Ok(Command::Auth {
                mechanism: None,
                initial_response: None,
            }),
            [mech] => Ok(Command::Auth {
                mechanism: Some(String::from_utf8_lossy(mech).to_ascii_uppercase()),
                initial_response: None,
            }),
            [mech, ir] => Ok(Command::Auth {
                mechanism: Some(String::from_utf8_lossy(mech).to_ascii_uppercase()),
                initial_response: Some(decode_sasl(ir)?),
            }),
            _ => Err(Pop3Error::Syntax("AUTH mechanism [initial-response]")),
        },
        b"CAPA" => none(Command::Capa),
        b"STLS" => none(Command::Stls),
        b"STAT" => none(Command::Stat),
        b"RSET" => none(Command::Rset),
        b"NOOP" => none(Command::Noop),
        b"QUIT" => none(Command::Quit),
        b"LIST" => optional().map(Command::List),
        b"UIDL" => optional().map(Command::Uidl),
        b"RETR" => one().map(Command::Retr),
        b"DELE" => one().map(Command::Dele),
        b"TOP" => match args.as_slice() {
            [m, n] => Ok(Command::Top {
                msg: number(m)?,
                lines: count(n)?,
            }),
            _ => Err(Pop3Error::Syntax("TOP msg lines")),
        },
        b"XCLIENT" => {
            let mut attrs = Vec::with_capacity(args.len());
            for a in &args {
                let a = std::str::from_utf8(a)
                    .map_err(|_| Pop3Error::Syntax("XCLIENT is not UTF-8"))?;
                let (k, v) = a
                    .split_once('=')
                    .ok_or(Pop3Error::Syntax("XCLIENT NAME=VALUE ..."))?;
                attrs.push((k.to_ascii_uppercase(), v.to_owned()));
            }
            if attrs.is_empty() {
                return Err(Pop3Error::Syntax("XCLIENT NAME=VALUE ..."));
            }
            Ok(Command::Xclient(attrs))
        }
        _ => Err(Pop3Error::UnknownCommand),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Command, Pop3Error> {
        parse_command(s.as_bytes())
    }

    #[test]
    fn commands() {
        assert_eq!(p("USER fred"), Ok(Command::User("fred".into())));
        assert_eq!(p("user fred"), Ok(Command::User("fred".into())));
        assert_eq!(
            p("PASS  my secret "),
            Ok(Command::Pass(b" my secret ".to_vec()))
        );
        assert_eq!(p("CAPA"), Ok(Command::Capa));
        assert_eq!(p("stls"), Ok(Command::Stls));
        assert_eq!(p("STAT"), Ok(Command::Stat));
        assert_eq!(p("LIST"), Ok(Command::List(None)));
        assert_eq!(p("LIST 2"), Ok(Command::List(Some(2))));
        assert_eq!(p("UIDL"), Ok(Command::Uidl(None)));
        assert_eq!(p("uidl 7"), Ok(Command::Uidl(Some(7))));
        assert_eq!(p("RETR 1"), Ok(Command::Retr(1)));
        assert_eq!(p("TOP 1 0"), Ok(Command::Top { msg: 1, lines: 0 }));
        assert_eq!(p("TOP 3 10"), Ok(Command::Top { msg: 3, lines: 10 }));
        assert_eq!(p("DELE 4"), Ok(Command::Dele(4)));
        assert_eq!(p("RSET"), Ok(Command::Rset));
        assert_eq!(p("NOOP"), Ok(Command::Noop));
        assert_eq!(p("QUIT"), Ok(Command::Quit));
        assert_eq!(
            p("XCLIENT addr=192.0.2.1 PORT=4000"),
            Ok(Command::Xclient(vec![
                ("ADDR".into(), "192.0.2.1".into()),
                ("PORT".into(), "4000".into())
            ]))
        );
        assert!(p("XCLIENT").is_err());
        assert!(p("XCLIENT ADDR").is_err());
        assert_eq!(
            p("AUTH"),
            Ok(Command::Auth {
                mechanism: None,
                initial_response: None
            })
        );
        assert_eq!(
            p("AUTH plain"),
            Ok(Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial_response: None
            })
        );
        assert_eq!(
            p("AUTH PLAIN AGZyZWQAc2VjcmV0"),
            Ok(Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial_response: Some(b"\0fred\0secret".to_vec())
            })
        );
        assert_eq!(
            p("AUTH PLAIN ="),
            Ok(Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial_response: Some(vec![])
            })
        );
    }

    #[test]
    fn errors() {
        assert_eq!(p("APOP fred 4f2b"), Err(Pop3Error::NotSupported("APOP")));
        assert_eq!(p("XYZZY"), Err(Pop3Error::UnknownCommand));
        assert_eq!(p(""), Err(Pop3Error::UnknownCommand));
        assert_eq!(
            p("RETR"),
            Err(Pop3Error::Syntax("one message number expected"))
        );
        assert_eq!(p("RETR 0"), Err(Pop3Error::BadNumber));
        assert_eq!(p("RETR -1"), Err(Pop3Error::BadNumber));
        assert_eq!(p("RETR 4294967296"), Err(Pop3Error::BadNumber));
        assert_eq!(p("RETR 99999999999999999999"), Err(Pop3Error::BadNumber));
        assert_eq!(p("STAT 1"), Err(Pop3Error::Syntax("no arguments expected")));
        assert_eq!(p("TOP 1"), Err(Pop3Error::Syntax("TOP msg lines")));
        assert_eq!(p("PASS"), Err(Pop3Error::Syntax("PASS needs a password")));
        assert_eq!(p("AUTH PLAIN !!!"), Err(Pop3Error::BadBase64));
        assert_eq!(
            parse_command(b"USER \xff"),
            Err(Pop3Error::Syntax("user name is not UTF-8"))
        );
        let long = format!("USER {}", "a".repeat(260));
        assert_eq!(p(&long), Err(Pop3Error::LineTooLong));
        // AUTH may be longer than 255 but not than 1000.
        let b64 = "QUFB".repeat(100);
        assert!(p(&format!("AUTH PLAIN {b64}")).is_ok());
        assert_eq!(
            p(&format!("AUTH PLAIN {}", "QUFB".repeat(300))),
            Err(Pop3Error::LineTooLong)
        );
        assert_eq!(parse_sasl_line(b"*"), Ok(SaslLine::Cancel));
        assert_eq!(
            parse_sasl_line(b"AGEAYg=="),
            Ok(SaslLine::Data(b"\0a\0b".to_vec()))
        );
        assert_eq!(parse_sasl_line(b""), Ok(SaslLine::Data(vec![])));
        assert_eq!(parse_sasl_line(b"%%%"), Err(Pop3Error::BadBase64));
    }

    #[test]
    fn line_receiver() {
        let mut r = LineReceiver::new();
        r.feed(b"USER a\r\nPASS b\nST");
        assert_eq!(r.next_line(), Some(Ok(b"USER a".to_vec())));
        assert_eq!(r.next_line(), Some(Ok(b"PASS b".to_vec())));
        assert_eq!(r.next_line(), None);
        r.feed(b"AT\r\n");
        assert_eq!(r.next_line(), Some(Ok(b"STAT".to_vec())));
        r.feed(&[b'x'; 1500]);
        assert_eq!(r.next_line(), Some(Err(Pop3Error::LineTooLong)));
        r.feed(&[b'x'; 1500]);
        assert_eq!(r.next_line(), None);
        r.feed(b"yyy\r\nNOOP\r\n");
        assert_eq!(r.next_line(), Some(Ok(b"NOOP".to_vec())));
        let garbage: Vec<u8> = (0..=255u8).cycle().take(4000).collect();
        r.feed(&garbage);
        while let Some(l) = r.next_line() {
            if let Ok(l) = l {
                let _ = parse_command(&l);
            }
        }
    }
}
