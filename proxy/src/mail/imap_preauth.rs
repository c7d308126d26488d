//! IMAP before authentication, as the edge answers it itself (pure, no
//! I/O): command framing with literals ([`Assembler`]), parsing of the few
//! commands valid in the not-authenticated state ([`parse`]), and the
//! capability lists.
//!
//! Only what RFC 3501 allows before login is understood: CAPABILITY, NOOP,
//! LOGOUT, STARTTLS, AUTHENTICATE, LOGIN, plus ID (RFC 2971). Everything
//! else is refused and the session goes on.

use super::line::{Line, LineReader};
use super::sasl::{valid_password, valid_user};
use super::Credentials;

/// Framing limits before authentication.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest line (without its line ending).
    pub max_line: usize,
    /// Largest literal (user names and passwords only).
    pub max_literal: usize,
    /// Most literals in one command.
    pub max_literals: usize,
    /// Largest command, lines and literals together.
    pub max_command: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 8192,
            max_literal: 4096,
            max_literals: 4,
            max_command: 16384,
        }
    }
}

/// A piece of a framed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A line (without CRLF); when followed by a literal it ends in `{N}`
    /// or `{N+}`.
    Line(Vec<u8>),
    /// The bytes of a literal.
    Literal(Vec<u8>),
}

/// What the framing layer produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete command.
    Command(Vec<Part>),
    /// A synchronising literal was announced and accepted: send `+ OK`.
    Continue,
    /// A command was refused while framing (reply `BAD`, keep going).
    Bad {
        /// The command's tag if it had a valid one.
        tag: Option<String>,
        /// Reason for the client.
        message: &'static str,
    },
    /// The stream cannot be resynchronised (a non-synchronising literal
    /// over the limit): say BYE and close.
    Fatal(&'static str),
}

/// Frames client bytes into commands.
#[derive(Debug)]
pub struct Assembler {
    lines: LineReader,
    limits: Limits,
    parts: Vec<Part>,
    literal: Option<usize>,
    size: usize,
}

impl Assembler {
    /// An empty assembler.
    pub fn new(limits: Limits) -> Assembler {
        Assembler {
            lines: LineReader::new(limits.max_line),
            limits,
            parts: Vec::new(),
            literal: None,
            size: 0,
        }
    }

    /// Appends received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        self.lines.feed(data);
    }

    /// Bytes received but not yet framed.
    pub fn buffered(&self) -> usize {
        self.lines.buffered()
    }

    /// Hands out unframed bytes (pipelined after a successful login; they
    /// belong to the node now).
    pub fn take_buffered(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        for p in self.parts.drain(..) {
            match p {
                Part::Line(l) => {
                    out.extend_from_slice(&l);
                    out.extend_from_slice(b"\r\n");
                }
                Part::Literal(l) => out.extend_from_slice(&l),
            }
        }
        out.extend_from_slice(&self.lines.take_all());
        self.literal = None;
        self.size = 0;
        out
    }

    /// The next raw line (a SASL response after `+ `), bypassing command
    /// framing; only meaningful between commands.
    pub fn next_line(&mut self) -> Option<Line> {
        self.lines.next_line()
    }

    /// Drops everything held (STARTTLS).
    pub fn clear(&mut self) {
        self.lines.clear();
        self.reset();
    }

    fn reset(&mut self) {
        self.parts.clear();
        self.literal = None;
        self.size = 0;
    }

    fn first_tag(&self, line: Option<&[u8]>) -> Option<String> {
        let first = match self.parts.first() {
            Some(Part::Line(l)) => l.as_slice(),
            _ => line?,
        };
        let end = first.iter().position(|&b| b == b' ')?;
        valid_tag(&first[..end])
    }

    /// The next event, `None` when more bytes are needed.
    pub fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(n) = self.literal {
                let bytes = self.lines.take(n)?;
                self.parts.push(Part::Literal(bytes));
                self.literal = None;
                continue;
            }
            let line = match self.lines.next_line()? {
                Line::TooLong => {
                    let tag = self.first_tag(None);
                    self.reset();
                    return Some(Event::Bad {
                        tag,
                        message: "Line too long",
                    });
                }
                Line::Line(l) => l,
            };
            self.size += line.len();
            if self.size > self.limits.max_command {
                let tag = self.first_tag(Some(&line));
                self.reset();
                return Some(Event::Bad {
                    tag,
                    message: "Command too long",
                });
            }
            let Some((n, sync)) = literal_marker(&line) else {
                self.parts.push(Part::Line(line));
                return Some(Event::Command(std::mem::take(&mut self.parts)));
            };
            let literals = self
                .parts
                .iter()
                .filter(|p| matches!(p, Part::Literal(_)))
                .count();
            if n > self.limits.max_literal
                || literals >= self.limits.max_literals
                || self.size + n > self.limits.max_command
            {
                let tag = self.first_tag(Some(&line));
                self.reset();
                if !sync {
                    return Some(Event::Fatal("Literal too large"));
                }
                return Some(Event::Bad {
                    tag,
                    message: "Literal too large",
                });
            }
            self.size += n;
            self.parts.push(Part::Line(line));
            self.literal = Some(n);
            if sync {
                return Some(Event::Continue);
            }
        }
    }
}

/// `{N}` (synchronising, `true`) or `{N+}` at the end of a line.
pub fn literal_marker(line: &[u8]) -> Option<(usize, bool)> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let mut digits = &body[open + 1..];
    let sync = match digits.strip_suffix(b"+") {
        Some(d) => {
            digits = d;
            false
        }
        None => true,
    };
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((n, sync))
}

/// A tag as RFC 3501 allows it (astring characters except `+`), bounded.
pub fn valid_tag(tag: &[u8]) -> Option<String> {
    if tag.is_empty() || tag.len() > 64 {
        return None;
    }
    let ok = tag
        .iter()
        .all(|&b| (0x21..0x7f).contains(&b) && !b"(){%*\"\\+".contains(&b));
    ok.then(|| String::from_utf8_lossy(tag).into_owned())
}

/// A parsed pre-authentication command.
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
    /// AUTHENTICATE with the mechanism (upper case) and the SASL-IR
    /// initial response (`=` means empty).
    Authenticate {
        /// Mechanism name, upper case.
        mechanism: String,
        /// Initial response as sent (base64), if any.
        initial: Option<Vec<u8>>,
    },
    /// A command that only makes sense after login.
    NeedsLogin(String),
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

/// A command that cannot be parsed; answered with `BAD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The tag, when the command had a valid one (else the reply is untagged).
    pub tag: Option<String>,
    /// Reason for the client.
    pub message: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Atom(Vec<u8>),
    Str(Vec<u8>),
    Open,
    Close,
}

/// Most tokens looked at in one command.
const MAX_TOKENS: usize = 128;

fn tokenize(parts: &[Part]) -> Result<Vec<Tok>, &'static str> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let Part::Line(line) = &parts[i] else {
            return Err("Unexpected literal");
        };
        let mut p = 0;
        while p < line.len() {
            if out.len() > MAX_TOKENS {
                return Err("Too many arguments");
            }
            match line[p] {
                b' ' => p += 1,
                b'(' => {
                    out.push(Tok::Open);
                    p += 1;
                }
                b')' => {
                    out.push(Tok::Close);
                    p += 1;
                }
                b'"' => {
                    let mut s = Vec::new();
                    p += 1;
                    loop {
                        match line.get(p) {
                            None => return Err("Unterminated quoted string"),
                            Some(b'"') => break,
                            Some(b'\\') => match line.get(p + 1) {
                                Some(&c @ (b'"' | b'\\')) => {
                                    s.push(c);
                                    p += 1;
                                }
                                _ => return Err("Invalid escape in quoted string"),
                            },
                            Some(&c) => s.push(c),
                        }
                        p += 1;
                    }
                    out.push(Tok::Str(s));
                    p += 1;
                }
                b'{' => {
                    // Only valid as the marker that ends this line.
                    if literal_marker(&line[p..]).is_none() {
                        return Err("Invalid literal");
                    }
                    let Some(Part::Literal(lit)) = parts.get(i + 1) else {
                        return Err("Missing literal");
                    };
                    out.push(Tok::Str(lit.clone()));
                    i += 1;
                    p = line.len();
                }
                c if c < 0x20 || c == 0x7f => return Err("Control character in command"),
                _ => {
                    let start = p;
                    while p < line.len() && !b" ()\"{".contains(&line[p]) {
                        if line[p] < 0x20 || line[p] == 0x7f {
                            return Err("Control character in command");
                        }
                        p += 1;
                    }
                    out.push(Tok::Atom(line[start..p].to_vec()));
                }
            }
        }
        i += 1;
    }
    Ok(out)
}

fn astring(t: Option<&Tok>) -> Option<&[u8]> {
    match t? {
        Tok::Atom(a) | Tok::Str(a) => Some(a),
        _ => None,
    }
}

fn nstring(t: &Tok) -> Option<Option<String>> {
    match t {
        Tok::Str(s) => Some(Some(String::from_utf8_lossy(s).into_owned())),
        Tok::Atom(a) if a.eq_ignore_ascii_case(b"NIL") => Some(None),
        _ => None,
    }
}

/// Commands of the authenticated and selected states (RFC 3501 and the
/// extensions the nodes offer): answered "log in first", not "unknown".
const AFTER_LOGIN: &[&str] = &[
    "SELECT",
    "EXAMINE",
    "CREATE",
    "DELETE",
    "RENAME",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "LIST",
    "LSUB",
    "STATUS",
    "APPEND",
    "CHECK",
    "CLOSE",
    "EXPUNGE",
    "SEARCH",
    "FETCH",
    "STORE",
    "COPY",
    "MOVE",
    "UID",
    "ENABLE",
    "IDLE",
    "NAMESPACE",
    "UNSELECT",
    "GETQUOTA",
    "GETQUOTAROOT",
    "SETQUOTA",
];

/// Parses one framed command.
pub fn parse(parts: &[Part]) -> Result<Request, ParseError> {
    let toks = tokenize(parts).map_err(|message| ParseError {
        tag: match parts.first() {
            Some(Part::Line(l)) => l.split(|&b| b == b' ').next().and_then(|t| {
                if l.contains(&b' ') {
                    valid_tag(t)
                } else {
                    None
                }
            }),
            _ => None,
        },
        message,
    })?;
    let mut it = toks.iter();
    let tag = match it.next() {
        None => {
            return Err(ParseError {
                tag: None,
                message: "Empty command",
            })
        }
        Some(Tok::Atom(t)) => valid_tag(t).ok_or(ParseError {
            tag: None,
            message: "Invalid tag",
        })?,
        Some(_) => {
            return Err(ParseError {
                tag: None,
                message: "Invalid tag",
            })
        }
    };
    let bad = |message| ParseError {
        tag: Some(tag.clone()),
        message,
    };
    let name = match it.next() {
        Some(Tok::Atom(n)) => String::from_utf8_lossy(n).to_ascii_uppercase(),
        _ => return Err(bad("Missing command")),
    };
    let rest: Vec<&Tok> = it.collect();
    let no_args = |c: Command| {
        if rest.is_empty() {
            Ok(c)
        } else {
            Err(bad("Unexpected arguments"))
        }
    };
    let command = match name.as_str() {
        "CAPABILITY" => no_args(Command::Capability)?,
        "NOOP" => no_args(Command::Noop)?,
        "LOGOUT" => no_args(Command::Logout)?,
        "STARTTLS" => no_args(Command::StartTls)?,
        "LOGIN" => {
            if rest.len() != 2 {
                return Err(bad("LOGIN expects a user name and a password"));
            }
            let user = astring(rest.first().copied())
                .and_then(valid_user)
                .ok_or_else(|| bad("Invalid user name"))?;
            let pass = astring(rest.get(1).copied())
                .filter(|p| valid_password(p))
                .ok_or_else(|| bad("Invalid password"))?;
            Command::Login(Credentials {
                user,
                password: pass.to_vec(),
            })
        }
        "AUTHENTICATE" => {
            let mechanism = match rest.first() {
                Some(Tok::Atom(m)) => String::from_utf8_lossy(m).to_ascii_uppercase(),
                _ => return Err(bad("AUTHENTICATE expects a mechanism")),
            };
            let initial = match rest.get(1) {
                None => None,
                Some(Tok::Atom(ir)) if rest.len() == 2 => Some(ir.clone()),
                Some(_) => return Err(bad("Invalid initial response")),
            };
            Command::Authenticate { mechanism, initial }
        }
        "ID" => Command::Id(parse_id(&rest).ok_or_else(|| bad("Invalid ID parameters"))?),
        n if AFTER_LOGIN.contains(&n) => Command::NeedsLogin(name),
        _ => return Err(bad("Unknown command")),
    };
    Ok(Request { tag, command })
}

/// Most ID fields kept (RFC 2971 allows 30).
const MAX_ID_FIELDS: usize = 30;

fn parse_id(rest: &[&Tok]) -> Option<Vec<(String, Option<String>)>> {
    match rest {
        [Tok::Atom(nil)] if nil.eq_ignore_ascii_case(b"NIL") => Some(Vec::new()),
        [Tok::Open, inner @ .., Tok::Close] => {
            if inner.len() % 2 != 0 || inner.len() / 2 > MAX_ID_FIELDS {
                return None;
            }
            inner
                .chunks(2)
                .map(|kv| {
                    let key = match kv.first()? {
                        Tok::Str(k) if k.len() <= 30 => String::from_utf8_lossy(k).into_owned(),
                        _ => return None,
                    };
                    let value = nstring(kv.get(1)?)?;
                    if value.as_ref().is_some_and(|v| v.len() > 1024) {
                        return None;
                    }
                    Some((key, value))
                })
                .collect()
        }
        _ => None,
    }
}

/// The capabilities of kc-gateway after login; announced before login too
/// so that a client's view does not change (RFC 3501 allows that).
pub const POST_LOGIN: &str =
    "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE CHILDREN SPECIAL-USE UNSELECT CONDSTORE";

/// The capability list before login.
pub fn pre_login_capabilities(
    tls_active: bool,
    starttls_available: bool,
    plaintext_ok: bool,
) -> String {
    let mut caps = POST_LOGIN.to_string();
    if !tls_active && starttls_available {
        caps.push_str(" STARTTLS");
    }
    if tls_active || plaintext_ok {
        caps.push_str(" AUTH=PLAIN");
    } else {
        caps.push_str(" LOGINDISABLED");
    }
    caps
}

/// Writes `s` as an IMAP quoted string, or `None` when it cannot be one
/// (CR, LF, NUL, or too long); used for the ID values sent to nodes.
pub fn quoted(s: &str) -> Option<String> {
    if s.len() > 255 || s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(input: &[u8]) -> Vec<Event> {
        let mut a = Assembler::new(Limits {
            max_line: 64,
            max_literal: 16,
            max_literals: 2,
            max_command: 100,
        });
        a.feed(input);
        std::iter::from_fn(|| a.next_event()).collect()
    }

    fn cmd(line: &[u8]) -> Result<Request, ParseError> {
        parse(&[Part::Line(line.to_vec())])
    }

    #[test]
    fn frames_literals() {
        let ev = frame(b"a LOGIN {5}\r\nalice {3+}\r\npw!\r\nb NOOP\r\n");
        assert_eq!(ev[0], Event::Continue);
        let Event::Command(parts) = &ev[1] else {
            panic!("{ev:?}")
        };
        assert_eq!(parts.len(), 5);
        let r = parse(parts).unwrap();
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
        assert_eq!(
            ev[0],
            Event::Bad {
                tag: Some("a".into()),
                message: "Literal too large"
            }
        );
        assert!(matches!(ev[1], Event::Command(_)));
        let ev = frame(b"a LOGIN {99+}\r\n");
        assert_eq!(ev, vec![Event::Fatal("Literal too large")]);
        let mut long = b"t1 ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 100));
        long.extend_from_slice(b"\r\nt2 NOOP\r\n");
        let ev = frame(&long);
        assert!(matches!(ev[0], Event::Bad { .. }), "{ev:?}");
        assert!(matches!(&ev[1], Event::Command(p) if parse(p).unwrap().tag == "t2"));
        let ev = frame(b"a X {1}\r\n1 {1}\r\n2 {1}\r\n");
        assert!(
            ev.iter().any(|e| matches!(
                e,
                Event::Bad {
                    message: "Literal too large",
                    ..
                }
            )),
            "{ev:?}"
        );
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
                initial: Some(b"dGVzdA==".to_vec())
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
            Command::NeedsLogin("SELECT".into())
        );
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
            cmd(b"a1 ID (\"k\")").unwrap_err().message,
            "Invalid ID parameters"
        );
        assert!(cmd(b"a1 LOGIN {3}").is_err());
        assert!(cmd(b"a1 LOGIN a\x01 b").is_err());
    }

    #[test]
    fn capability_lists() {
        let plain = pre_login_capabilities(false, true, false);
        assert!(plain.starts_with(POST_LOGIN));
        assert!(plain.ends_with("STARTTLS LOGINDISABLED"));
        assert!(pre_login_capabilities(true, true, false).ends_with("CONDSTORE AUTH=PLAIN"));
        assert_eq!(quoted("a\"b"), Some("\"a\\\"b\"".into()));
        assert_eq!(quoted("a\r\n"), None);
    }
}
