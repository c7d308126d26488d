//! LMTP command lines (RFC 2033 on the syntax of RFC 5321 §4.1): one line in,
//! one typed [`Command`] out. Pure: no I/O and no state between lines.
//!
//! Accepted leniencies, all common among MTAs: verbs in any case, spaces
//! around the `FROM:`/`TO:` colon, runs of spaces between parameters, and a
//! line ended by a bare LF (the caller splits lines). Paths must be in angle
//! brackets. Source routes (`<@a,@b:user@c>`) are parsed and dropped as
//! RFC 5321 §4.1.1.3 asks. Non-ASCII UTF-8 is accepted in addresses and
//! reported through [`Mailbox::is_ascii`]: whether it is allowed depends on the
//! SMTPUTF8 parameter of the transaction, which the session checks.

use thiserror::Error;

/// Longest accepted command line including CRLF.
///
/// RFC 5321 §4.5.3.1.4 sets 512 octets for a command line and lets service
/// extensions raise it (SIZE, BODY, SMTPUTF8 add parameters); kc accepts up
/// to the 1000-octet text-line limit of §4.5.3.1.6, which bounds the line
/// buffer and still leaves every legal path plus its parameters room.
pub const MAX_COMMAND_LINE: usize = 1000;

/// Longest local part in octets (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_PART: usize = 64;
/// Longest domain in octets (RFC 5321 §4.5.3.1.2).
pub const MAX_DOMAIN: usize = 255;

/// A parsed LMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `LHLO domain` (RFC 2033 §4.1): the client's name, as sent.
    Lhlo {
        /// The client's host name or address literal.
        domain: String,
    },
    /// `HELO` or `EHLO`: SMTP greetings that LMTP replaces with LHLO, so
    /// they are refused (RFC 2033 §4.1).
    Helo,
    /// `MAIL FROM:<reverse-path> [parameters]`.
    Mail {
        /// The sender, or the null path `<>` of bounces.
        from: ReversePath,
        /// The ESMTP parameters kc advertises.
        params: MailParams,
    },
    /// `RCPT TO:<forward-path>`; RCPT parameters are refused, since no
    /// advertised extension defines one.
    Rcpt {
        /// The recipient.
        to: Mailbox,
    },
    /// `DATA`.
    Data,
    /// `RSET`.
    Rset,
    /// `NOOP [string]`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY string`: answered with 252, never with a lookup result, so the
    /// listener cannot be used to enumerate mailboxes.
    Vrfy,
    /// `HELP [string]`.
    Help,
    /// A known SMTP verb kc does not implement (502): BDAT (CHUNKING is not
    /// advertised), STARTTLS, AUTH, EXPN, ETRN, TURN, SEND, SOML, SAML.
    NotImplemented {
        /// The verb, upper case.
        verb: &'static str,
    },
}

/// The MAIL FROM path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversePath {
    /// `<>`: the null sender of delivery status notifications.
    Null,
    /// A sender address.
    Mailbox(Mailbox),
}

impl ReversePath {
    /// The sender as an address string; empty for the null path.
    pub fn address(&self) -> String {
        match self {
            ReversePath::Null => String::new(),
            ReversePath::Mailbox(m) => m.address(),
        }
    }

    /// Whether the path is plain ASCII (the null path is).
    pub fn is_ascii(&self) -> bool {
        match self {
            ReversePath::Null => true,
            ReversePath::Mailbox(m) => m.is_ascii(),
        }
    }
}

/// A mailbox of a path, with any quoting of the local part removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    local_part: String,
    domain: String,
}

impl Mailbox {
    /// Builds a mailbox from its parts (the local part unquoted).
    pub fn new(local_part: impl Into<String>, domain: impl Into<String>) -> Mailbox {
        Mailbox {
            local_part: local_part.into(),
            domain: domain.into(),
        }
    }

    /// The local part, unquoted: `"john doe"@x` gives `john doe`.
    pub fn local_part(&self) -> &str {
        &self.local_part
    }

    /// The domain as sent (a name or an address literal in brackets). Empty
    /// only for the special recipient `<Postmaster>` (RFC 5321 §4.1.1.3).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The canonical address: the local part quoted only when it is not a
    /// dot-string, so `<"john"@x>` and `<john@x>` give the same `john@x`.
    pub fn address(&self) -> String {
        let mut s = String::with_capacity(self.local_part.len() + self.domain.len() + 3);
        if is_dot_string(&self.local_part) {
            s.push_str(&self.local_part);
        } else {
            s.push('"');
            for c in self.local_part.chars() {
                if c == '"' || c == '\\' {
                    s.push('\\');
                }
                s.push(c);
            }
            s.push('"');
        }
        if !self.domain.is_empty() {
            s.push('@');
            s.push_str(&self.domain);
        }
        s
    }

    /// Whether both parts are ASCII; non-ASCII needs SMTPUTF8 (RFC 6531).
    pub fn is_ascii(&self) -> bool {
        self.local_part.is_ascii() && self.domain.is_ascii()
    }
}

impl std::fmt::Display for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.address())
    }
}

/// The MAIL parameters kc advertises in its LHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// `SIZE=n` (RFC 1870): the client's size estimate. Values beyond
    /// `u64::MAX` saturate, which is still "too big".
    pub size: Option<u64>,
    /// `BODY=7BIT|8BITMIME` (RFC 6152).
    pub body: Option<BodyType>,
    /// `SMTPUTF8` (RFC 6531): the envelope and headers may hold UTF-8.
    pub smtputf8: bool,
}

/// The declared body type (RFC 6152).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    /// `BODY=7BIT`.
    SevenBit,
    /// `BODY=8BITMIME`.
    EightBitMime,
}

/// Why a command line was refused. `Reply::from(&ParseError)` (in `reply`) maps
/// each to its reply code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// Longer than [`MAX_COMMAND_LINE`] (500 5.5.2).
    #[error("line too long")]
    LineTooLong,
    /// Not UTF-8, or holds control characters other than HTAB (500 5.5.2).
    #[error("invalid characters in command")]
    BadBytes,
    /// Unknown verb or empty line (500 5.5.1).
    #[error("command unrecognized")]
    Unrecognized,
    /// Right verb, wrong arguments (501 5.5.4).
    #[error("syntax error in arguments: {0}")]
    BadArguments(&'static str),
    /// MAIL FROM path is not a valid path (501 5.1.7).
    #[error("bad sender address syntax")]
    BadSender,
    /// RCPT TO path is not a valid path (501 5.1.3).
    #[error("bad recipient address syntax")]
    BadRecipient,
    /// A parameter kc does not support (555 5.5.4).
    #[error("parameter not supported: {0}")]
    UnsupportedParameter(String),
}

/// Parses one command line, without its LF; one trailing CR is ignored.
pub fn parse_command(line: &[u8]) -> Result<Command, ParseError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() + 2 > MAX_COMMAND_LINE {
        return Err(ParseError::LineTooLong);
    }
    let text = std::str::from_utf8(line).map_err(|_| ParseError::BadBytes)?;
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ParseError::BadBytes);
    }
    let (verb, rest) = match text.find([' ', '\t']) {
        Some(i) => (&text[..i], text[i + 1..].trim_matches([' ', '\t'])),
        None => (text, ""),
    };
    if verb.is_empty() || verb.len() > 8 {
        return Err(ParseError::Unrecognized);
    }
    let no_args = |cmd: Command| {
        if rest.is_empty() {
            Ok(cmd)
        } else {
            Err(ParseError::BadArguments("this command takes no arguments"))
        }
    };
    match verb.to_ascii_uppercase().as_str() {
        "LHLO" => parse_lhlo(rest),
        "HELO" | "EHLO" => Ok(Command::Helo),
        "MAIL" => parse_mail(rest),
        "RCPT" => parse_rcpt(rest),
        "DATA" => no_args(Command::Data),
        "RSET" => no_args(Command::Rset),
        "QUIT" => no_args(Command::Quit),
        "NOOP" => Ok(Command::Noop),
        "VRFY" => {
            if rest.is_empty() {
                Err(ParseError::BadArguments("VRFY needs an argument"))
            } else {
                Ok(Command::Vrfy)
            }
        }
        "HELP" => Ok(Command::Help),
        v => match NOT_IMPLEMENTED.iter().find(|n| **n == v) {
            Some(verb) => Ok(Command::NotImplemented { verb }),
            None => Err(ParseError::Unrecognized),
        },
    }
}

const NOT_IMPLEMENTED: &[&str] = &[
    "BDAT", "STARTTLS", "AUTH", "EXPN", "ETRN", "TURN", "ATRN", "SEND", "SOML", "SAML",
];

fn parse_lhlo(rest: &str) -> Result<Command, ParseError> {
    // The name is only logged, so any single token is taken as it is.
    if rest.is_empty() || rest.contains([' ', '\t']) {
        return Err(ParseError::BadArguments("LHLO needs one domain"));
    }
    Ok(Command::Lhlo {
        domain: rest.to_owned(),
    })
}

fn parse_mail(rest: &str) -> Result<Command, ParseError> {
    let path = strip_prefix_ci(rest, "FROM:")
        .ok_or(ParseError::BadArguments("expected MAIL FROM:<address>"))?
        .trim_start_matches([' ', '\t']);
    let mut cur = Cursor::new(path);
    let from = match parse_path(&mut cur).map_err(|()| ParseError::BadSender)? {
        None => ReversePath::Null,
        Some(m) if m.domain.is_empty() => return Err(ParseError::BadSender),
        Some(m) => ReversePath::Mailbox(m),
    };
    let mut params = MailParams::default();
    for (keyword, value) in parse_params(cur.rest())? {
        let dup = || ParseError::BadArguments("duplicate parameter");
        match keyword.to_ascii_uppercase().as_str() {
            "SIZE" => {
                if params.size.is_some() {
                    return Err(dup());
                }
                params.size = Some(parse_size(value)?);
            }
            "BODY" => {
                if params.body.is_some() {
                    return Err(dup());
                }
                let v = value.ok_or(ParseError::BadArguments("BODY needs a value"))?;
                params.body = Some(if v.eq_ignore_ascii_case("7BIT") {
                    BodyType::SevenBit
                } else if v.eq_ignore_ascii_case("8BITMIME") {
                    BodyType::EightBitMime
                } else {
                    return Err(ParseError::UnsupportedParameter(format!("BODY={v}")));
                });
            }
            "SMTPUTF8" => {
                if value.is_some() {
                    return Err(ParseError::BadArguments("SMTPUTF8 takes no value"));
                }
                if params.smtputf8 {
                    return Err(dup());
                }
                params.smtputf8 = true;
            }
            _ => return Err(ParseError::UnsupportedParameter(keyword.to_owned())),
        }
    }
    Ok(Command::Mail { from, params })
}

fn parse_rcpt(rest: &str) -> Result<Command, ParseError> {
    let path = strip_prefix_ci(rest, "TO:")
        .ok_or(ParseError::BadArguments("expected RCPT TO:<address>"))?
        .trim_start_matches([' ', '\t']);
    let mut cur = Cursor::new(path);
    let to = match parse_path(&mut cur).map_err(|()| ParseError::BadRecipient)? {
        None => return Err(ParseError::BadRecipient),
        Some(m) if m.domain.is_empty() && !m.local_part.eq_ignore_ascii_case("postmaster") => {
            return Err(ParseError::BadRecipient)
        }
        Some(m) => m,
    };
    if let Some((keyword, _)) = parse_params(cur.rest())?.first() {
        return Err(ParseError::UnsupportedParameter((*keyword).to_owned()));
    }
    Ok(Command::Rcpt { to })
}

/// `SIZE` value: 1*20DIGIT (RFC 1870 §3); larger numbers saturate.
fn parse_size(value: Option<&str>) -> Result<u64, ParseError> {
    let v = value.ok_or(ParseError::BadArguments("SIZE needs a value"))?;
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadArguments("SIZE must be a number"));
    }
    Ok(v.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// Splits `SP keyword[=value] *(SP keyword[=value])` (RFC 5321 §4.1.2).
fn parse_params(rest: &str) -> Result<Vec<(&str, Option<&str>)>, ParseError> {
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err(ParseError::BadArguments("expected a space after the path"));
    }
    let mut out = Vec::new();
    for param in rest.split([' ', '\t']).filter(|p| !p.is_empty()) {
        let (keyword, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        let keyword_ok = keyword
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
            && keyword
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        // esmtp-value = 1*(%d33-60 / %d62-126), widened to UTF-8 by RFC 6531.
        let value_ok = value.is_none_or(|v| {
            !v.is_empty()
                && v.chars()
                    .all(|c| c != '=' && (c.is_ascii_graphic() || !c.is_ascii()))
        });
        if !keyword_ok || !value_ok {
            return Err(ParseError::BadArguments("malformed parameter"));
        }
        out.push((keyword, value));
    }
    Ok(out)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// RFC 5321 atext, widened to any non-ASCII character by RFC 6531.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

/// Dot-string = Atom *("." Atom) (RFC 5321 §4.1.2).
fn is_dot_string(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }
}

/// `"<" [ A-d-l ":" ] Mailbox ">"` or `"<>"`; `Ok(None)` is the null path.
/// A mailbox without `@domain` is returned with an empty domain: only RCPT
/// accepts it, and only for Postmaster.
fn parse_path(cur: &mut Cursor<'_>) -> Result<Option<Mailbox>, ()> {
    if !cur.eat('<') {
        return Err(());
    }
    if cur.eat('>') {
        return Ok(None);
    }
    if cur.peek() == Some('@') {
        // Source route: obsolete, parsed for syntax and then ignored.
        loop {
            if !cur.eat('@') {
                return Err(());
            }
            parse_domain(cur)?;
            if !cur.eat(',') {
                break;
            }
        }
        if !cur.eat(':') {
            return Err(());
        }
    }
    let local_part = parse_local_part(cur)?;
    let domain = if cur.eat('@') {
        parse_domain(cur)?
    } else {
        String::new()
    };
    if !cur.eat('>') {
        return Err(());
    }
    Ok(Some(Mailbox { local_part, domain }))
}

fn parse_local_part(cur: &mut Cursor<'_>) -> Result<String, ()> {
    let mut value = String::new();
    if cur.eat('"') {
        // Quoted-string: qtextSMTP and quoted-pairSMTP (RFC 5321 §4.1.2).
        loop {
            match cur.bump().ok_or(())? {
                '"' => break,
                '\\' => match cur.bump() {
                    Some(c) if c == ' ' || c.is_ascii_graphic() || !c.is_ascii() => value.push(c),
                    _ => return Err(()),
                },
                c if c == ' ' || c.is_ascii_graphic() || !c.is_ascii() => value.push(c),
                _ => return Err(()),
            }
        }
    } else {
        while let Some(c) = cur.peek() {
            if is_atext(c) || c == '.' {
                value.push(c);
                cur.bump();
            } else {
                break;
            }
        }
        if !is_dot_string(&value) {
            return Err(());
        }
    }
    if value.len() > MAX_LOCAL_PART {
        return Err(());
    }
    Ok(value)
}

/// A domain name (labels of letters, digits, `-`, `_` or UTF-8) or an
/// address literal in brackets, returned as sent.
fn parse_domain(cur: &mut Cursor<'_>) -> Result<String, ()> {
    let start = cur.pos;
    if cur.eat('[') {
        // dcontent = %d33-90 / %d94-126 (RFC 5321 §4.1.3).
        let mut empty = true;
        loop {
            match cur.bump().ok_or(())? {
                ']' => break,
                c if c.is_ascii_graphic() && c != '[' && c != '\\' => empty = false,
                _ => return Err(()),
            }
        }
        if empty {
            return Err(());
        }
    } else {
        let mut label_len = 0usize;
        while let Some(c) = cur.peek() {
            if c == '.' {
                if label_len == 0 {
                    return Err(());
                }
                label_len = 0;
            } else if c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii() {
                label_len += 1;
            } else {
                break;
            }
            cur.bump();
        }
        if label_len == 0 {
            return Err(());
        }
    }
    let domain = &cur.s[start..cur.pos];
    if domain.len() > MAX_DOMAIN {
        return Err(());
    }
    Ok(domain.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        match parse_command(line.as_bytes()) {
            Ok(c) => c,
            Err(e) => panic!("{line:?}: {e}"),
        }
    }

    fn err(line: &[u8]) -> ParseError {
        match parse_command(line) {
            Ok(c) => panic!("{line:?} parsed as {c:?}"),
            Err(e) => e,
        }
    }

    fn rcpt(line: &str) -> Mailbox {
        match ok(line) {
            Command::Rcpt { to } => to,
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn simple_commands() {
        assert_eq!(
            ok("LHLO mx.example.org\r"),
            Command::Lhlo {
                domain: "mx.example.org".into()
            }
        );
        assert_eq!(
            ok("lhlo [127.0.0.1]"),
            Command::Lhlo {
                domain: "[127.0.0.1]".into()
            }
        );
        assert_eq!(ok("data"), Command::Data);
        assert_eq!(ok("RSET"), Command::Rset);
        assert_eq!(ok("NOOP"), Command::Noop);
        assert_eq!(ok("NOOP anything at all"), Command::Noop);
        assert_eq!(ok("QUIT "), Command::Quit);
        assert_eq!(ok("VRFY john"), Command::Vrfy);
        assert_eq!(ok("HELP"), Command::Help);
        assert_eq!(ok("HELP MAIL"), Command::Help);
        assert_eq!(ok("EHLO x"), Command::Helo);
        assert_eq!(
            ok("BDAT 100 LAST"),
            Command::NotImplemented { verb: "BDAT" }
        );
        assert_eq!(ok("starttls"), Command::NotImplemented { verb: "STARTTLS" });
    }

    #[test]
    fn argument_errors() {
        assert!(matches!(err(b"DATA now"), ParseError::BadArguments(_)));
        assert!(matches!(err(b"QUIT x"), ParseError::BadArguments(_)));
        assert!(matches!(err(b"LHLO"), ParseError::BadArguments(_)));
        assert!(matches!(err(b"LHLO a b"), ParseError::BadArguments(_)));
        assert!(matches!(err(b"VRFY"), ParseError::BadArguments(_)));
        assert!(matches!(err(b"MAIL <a@b>"), ParseError::BadArguments(_)));
        assert!(matches!(
            err(b"RCPT FROM:<a@b>"),
            ParseError::BadArguments(_)
        ));
        assert_eq!(err(b""), ParseError::Unrecognized);
        assert_eq!(err(b"FOO bar"), ParseError::Unrecognized);
        assert_eq!(err(b"VERYLONGVERB"), ParseError::Unrecognized);
    }

    #[test]
    fn bad_bytes_and_length() {
        assert_eq!(err(b"\x00\xff\xfe garbage"), ParseError::BadBytes);
        assert_eq!(err(b"NOOP \x01"), ParseError::BadBytes);
        assert_eq!(err(b"NOOP \xc3"), ParseError::BadBytes);
        let long = format!("NOOP {}", "x".repeat(MAX_COMMAND_LINE));
        assert_eq!(err(long.as_bytes()), ParseError::LineTooLong);
        let fits = format!("NOOP {}", "x".repeat(MAX_COMMAND_LINE - 7));
        assert_eq!(ok(&fits), Command::Noop);
    }

    #[test]
    fn mail_from() {
        assert_eq!(
            ok("MAIL FROM:<john@example.org>"),
            Command::Mail {
                from: ReversePath::Mailbox(Mailbox::new("john", "example.org")),
                params: MailParams::default()
            }
        );
        assert_eq!(
            ok("mail from: <>"),
            Command::Mail {
                from: ReversePath::Null,
                params: MailParams::default()
            }
        );
        assert_eq!(
            ok("MAIL FROM:<a@b> SIZE=1234  body=8bitmime SMTPUTF8"),
            Command::Mail {
                from: ReversePath::Mailbox(Mailbox::new("a", "b")),
                params: MailParams {
                    size: Some(1234),
                    body: Some(BodyType::EightBitMime),
                    smtputf8: true
                }
            }
        );
        assert_eq!(err(b"MAIL FROM:<postmaster>"), ParseError::BadSender);
        assert_eq!(err(b"MAIL FROM:a@b"), ParseError::BadSender);
        assert_eq!(err(b"MAIL FROM:<a@b"), ParseError::BadSender);
    }

    #[test]
    fn mail_parameters() {
        let size = |line: &str| match ok(line) {
            Command::Mail { params, .. } => params.size,
            c => panic!("{c:?}"),
        };
        assert_eq!(
            size("MAIL FROM:<a@b> SIZE=9223372036854775808"),
            Some(1 << 63)
        );
        assert_eq!(
            size("MAIL FROM:<a@b> SIZE=999999999999999999999999"),
            Some(u64::MAX)
        );
        assert!(matches!(
            err(b"MAIL FROM:<a@b> SIZE=12k"),
            ParseError::BadArguments(_)
        ));
        assert!(matches!(
            err(b"MAIL FROM:<a@b> SIZE"),
            ParseError::BadArguments(_)
        ));
        assert!(matches!(
            err(b"MAIL FROM:<a@b> SIZE=1 SIZE=2"),
            ParseError::BadArguments(_)
        ));
        assert!(matches!(
            err(b"MAIL FROM:<a@b>SIZE=1"),
            ParseError::BadArguments(_)
        ));
        assert!(matches!(
            err(b"MAIL FROM:<a@b> SMTPUTF8=yes"),
            ParseError::BadArguments(_)
        ));
        assert!(matches!(
            err(b"MAIL FROM:<a@b> =x"),
            ParseError::BadArguments(_)
        ));
        assert_eq!(
            err(b"MAIL FROM:<a@b> BODY=BINARYMIME"),
            ParseError::UnsupportedParameter("BODY=BINARYMIME".into())
        );
        assert_eq!(
            err(b"MAIL FROM:<a@b> RET=FULL"),
            ParseError::UnsupportedParameter("RET".into())
        );
    }

    #[test]
    fn rcpt_paths() {
        assert_eq!(
            rcpt("RCPT TO:<john@example.org>").address(),
            "john@example.org"
        );
        assert_eq!(
            rcpt("rcpt to:<John.Doe@Example.ORG>").address(),
            "John.Doe@Example.ORG"
        );
        // Quoting that is not needed disappears; needed quoting is kept.
        assert_eq!(rcpt("RCPT TO:<\"john\"@x.org>").address(), "john@x.org");
        let m = rcpt("RCPT TO:<\"john doe\\\"s>\"@x.org>");
        assert_eq!(m.local_part(), "john doe\"s>");
        assert_eq!(m.address(), "\"john doe\\\"s>\"@x.org");
        // Source routes are dropped.
        assert_eq!(
            rcpt("RCPT TO:<@relay.a,@[10.0.0.1]:u@x.org>").address(),
            "u@x.org"
        );
        assert_eq!(rcpt("RCPT TO:<u@[IPv6:::1]>").domain(), "[IPv6:::1]");
        assert_eq!(rcpt("RCPT TO:<Postmaster>").address(), "Postmaster");
        let utf8 = rcpt("RCPT TO:<jösé@bücher.example>");
        assert!(!utf8.is_ascii());
        assert_eq!(utf8.address(), "jösé@bücher.example");
    }

    #[test]
    fn rcpt_errors() {
        for line in [
            "RCPT TO:<>",
            "RCPT TO:<john>",
            "RCPT TO:<a..b@x>",
            "RCPT TO:<.a@x>",
            "RCPT TO:<a@x..y>",
            "RCPT TO:<a@>",
            "RCPT TO:<a b@x>",
            "RCPT TO:<\"unterminated@x>",
            "RCPT TO:<a@[]>",
            "RCPT TO:<@relay:>",
            "RCPT TO:<@relay u@x>",
        ] {
            assert_eq!(err(line.as_bytes()), ParseError::BadRecipient, "{line}");
        }
        let long_local = format!("RCPT TO:<{}@x>", "a".repeat(MAX_LOCAL_PART + 1));
        assert_eq!(err(long_local.as_bytes()), ParseError::BadRecipient);
        let long_domain = format!("RCPT TO:<a@{}>", "a".repeat(MAX_DOMAIN + 1));
        assert_eq!(err(long_domain.as_bytes()), ParseError::BadRecipient);
        assert_eq!(
            err(b"RCPT TO:<a@x> NOTIFY=NEVER"),
            ParseError::UnsupportedParameter("NOTIFY".into())
        );
    }
}
