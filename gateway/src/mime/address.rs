//! RFC 5322 address lists turned into IMAP envelope addresses
//! (RFC 3501 §7.4.2: `(name adl mailbox host)`, groups as a start marker
//! `(NIL NIL group NIL)` and an end marker `(NIL NIL NIL NIL)`).
//!
//! Lenient like real servers: garbage never fails, it yields whatever
//! addresses can be recognised. Display names are unquoted but RFC 2047
//! encoded-words are left as they are, as IMAP requires.

/// One envelope address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// Display name (phrase), or the comment of a bare `addr (Name)`.
    pub name: Option<Vec<u8>>,
    /// Source route (`@a,@b`), obsolete.
    pub adl: Option<Vec<u8>>,
    /// Local part, or the group name in a group start marker.
    pub mailbox: Option<Vec<u8>>,
    /// Domain; `None` in group markers.
    pub host: Option<Vec<u8>>,
}

/// Most addresses taken from one field.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word { text: Vec<u8>, space_before: bool },
    Special(u8),
    Comment(Vec<u8>),
}

fn tokenize(v: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut space = false;
    while i < v.len() {
        let b = v[i];
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                space = true;
                i += 1;
            }
            b'(' => {
                let mut depth = 0usize;
                let mut text = Vec::new();
                while i < v.len() {
                    match v[i] {
                        b'\\' if i + 1 < v.len() => {
                            text.push(v[i + 1]);
                            i += 1;
                        }
                        b'(' => {
                            if depth > 0 {
                                text.push(b'(');
                            }
                            depth += 1;
                        }
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                            text.push(b')');
                        }
                        b'\r' | b'\n' => {}
                        c => text.push(c),
                    }
                    i += 1;
                }
                out.push(Tok::Comment(text));
                space = true;
            }
            b'"' => {
                let mut text = Vec::new();
                i += 1;
                while i < v.len() && v[i] != b'"' {
                    if v[i] == b'\\' && i + 1 < v.len() {
                        i += 1;
                    }
                    if v[i] != b'\r' && v[i] != b'\n' {
                        text.push(v[i]);
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Word {
                    text,
                    space_before: space,
                });
                space = false;
            }
            b'[' => {
                let start = i;
                while i < v.len() && v[i] != b']' {
                    i += 1;
                }
                i = (i + 1).min(v.len());
                out.push(Tok::Word {
                    text: v[start..i].to_vec(),
                    space_before: space,
                });
                space = false;
            }
            b'<' | b'>' | b',' | b':' | b';' | b'@' | b'.' => {
                out.push(Tok::Special(b));
                i += 1;
                space = false;
            }
            b')' => {
                // A stray closing parenthesis: ignore it.
                i += 1;
            }
            _ => {
                let start = i;
                while i < v.len() && !b" \t\r\n()\"[<>,:;@.".contains(&v[i]) {
                    i += 1;
                }
                out.push(Tok::Word {
                    text: v[start..i].to_vec(),
                    space_before: space,
                });
                space = false;
            }
        }
    }
    out
}

/// Joins tokens as a display name: words and dots, one space where the
/// source had whitespace.
fn phrase(toks: &[Tok]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for t in toks {
        match t {
            Tok::Word { text, space_before } => {
                if *space_before && !out.is_empty() {
                    out.push(b' ');
                }
                out.extend_from_slice(text);
            }
            Tok::Special(c) => out.push(*c),
            Tok::Comment(_) => {}
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Joins tokens without spaces (local parts and domains).
fn tight(toks: &[Tok]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for t in toks {
        match t {
            Tok::Word { text, .. } => out.extend_from_slice(text),
            Tok::Special(c) => out.push(*c),
            Tok::Comment(_) => {}
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The last non-empty comment among `toks`.
fn last_comment(toks: &[Tok]) -> Option<Vec<u8>> {
    toks.iter().rev().find_map(|t| match t {
        Tok::Comment(c) if !c.is_empty() => Some(c.clone()),
        _ => None,
    })
}

struct P<'t> {
    toks: &'t [Tok],
    i: usize,
}

impl<'t> P<'t> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }
    fn is(&self, c: u8) -> bool {
        self.peek() == Some(&Tok::Special(c))
    }
    /// Tokens up to (not including) one of `stops`.
    fn until(&mut self, stops: &[u8]) -> &'t [Tok] {
        let start = self.i;
        while let Some(t) = self.peek() {
            if matches!(t, Tok::Special(c) if stops.contains(c)) {
                break;
            }
            self.i += 1;
        }
        let toks: &'t [Tok] = self.toks;
        &toks[start..self.i]
    }
}

/// Placeholder for a missing local part (Dovecot's spelling).
pub const MISSING_MAILBOX: &[u8] = b"MISSING_MAILBOX";
/// Placeholder for a missing domain (Dovecot's spelling).
pub const MISSING_DOMAIN: &[u8] = b"MISSING_DOMAIN";

/// A mailbox address. A NIL host would read as a group marker (RFC 3501
/// §7.4.2), so missing parts get placeholders, as Dovecot does.
fn mailbox_address(
    name: Option<Vec<u8>>,
    adl: Option<Vec<u8>>,
    mailbox: Option<Vec<u8>>,
    host: Option<Vec<u8>>,
) -> Address {
    Address {
        name,
        adl,
        mailbox: Some(mailbox.unwrap_or_else(|| MISSING_MAILBOX.to_vec())),
        host: Some(host.unwrap_or_else(|| MISSING_DOMAIN.to_vec())),
    }
}

/// Parses an address-list field value (raw, possibly folded).
pub fn parse_list(value: &[u8]) -> Vec<Address> {
    let toks = tokenize(value);
    let mut p = P { toks: &toks, i: 0 };
    let mut out = Vec::new();
    let mut in_group = false;
    while p.peek().is_some() && out.len() < MAX_ADDRESSES {
        if p.is(b',') {
            p.i += 1;
            continue;
        }
        if p.is(b';') {
            p.i += 1;
            if in_group {
                out.push(Address::default());
                in_group = false;
            }
            continue;
        }
        let lead = p.until(b"<:@,;");
        match p.peek() {
            Some(Tok::Special(b':')) if !in_group => {
                p.i += 1;
                out.push(Address {
                    mailbox: phrase(lead).or(Some(Vec::new())),
                    ..Address::default()
                });
                in_group = true;
            }
            Some(Tok::Special(b'<')) => {
                let name = phrase(lead);
                p.i += 1;
                let mut adl = None;
                if p.is(b'@') {
                    // Obsolete source route: "@a,@b:".
                    let route = p.until(b":>");
                    adl = tight(route);
                    if p.is(b':') {
                        p.i += 1;
                    }
                }
                let local = p.until(b"@>,;").to_vec();
                let host = if p.is(b'@') {
                    p.i += 1;
                    tight(p.until(b">,;"))
                } else {
                    None
                };
                if p.is(b'>') {
                    p.i += 1;
                }
                // Anything between '>' and the next separator is ignored.
                p.until(b",;");
                out.push(mailbox_address(name, adl, tight(&local), host));
            }
            Some(Tok::Special(b'@')) => {
                p.i += 1;
                let host_toks = p.until(b",;<");
                let host = tight(host_toks);
                let name = last_comment(host_toks).or_else(|| last_comment(lead));
                out.push(mailbox_address(name, None, tight(lead), host));
            }
            _ => {
                if let Some(mailbox) = tight(lead) {
                    out.push(mailbox_address(
                        last_comment(lead),
                        None,
                        Some(mailbox),
                        None,
                    ));
                }
                if p.is(b':') || p.is(b'>') || p.is(b'<') {
                    p.i += 1;
                }
            }
        }
    }
    if in_group {
        out.push(Address::default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: Option<&str>, mailbox: Option<&str>, host: Option<&str>) -> Address {
        Address {
            name: name.map(|s| s.as_bytes().to_vec()),
            adl: None,
            mailbox: mailbox.map(|s| s.as_bytes().to_vec()),
            host: host.map(|s| s.as_bytes().to_vec()),
        }
    }

    #[test]
    fn forms() {
        assert_eq!(parse_list(b" a@b.c"), vec![a(None, Some("a"), Some("b.c"))]);
        assert_eq!(
            parse_list(b" \"Doe, John\" <john.doe@example.com>, Jane Q. Public <jane@x>"),
            vec![
                a(Some("Doe, John"), Some("john.doe"), Some("example.com")),
                a(Some("Jane Q. Public"), Some("jane"), Some("x"))
            ]
        );
        assert_eq!(
            parse_list(b" bob@x (Bob Smith)"),
            vec![a(Some("Bob Smith"), Some("bob"), Some("x"))]
        );
        assert_eq!(
            parse_list(b" =?UTF-8?Q?J=C3=B6rg?= <j@x>"),
            vec![a(Some("=?UTF-8?Q?J=C3=B6rg?="), Some("j"), Some("x"))]
        );
        assert_eq!(
            parse_list(b" friends: a@x, B <b@y>;, c@z"),
            vec![
                a(None, Some("friends"), None),
                a(None, Some("a"), Some("x")),
                a(Some("B"), Some("b"), Some("y")),
                Address::default(),
                a(None, Some("c"), Some("z"))
            ]
        );
        assert_eq!(
            parse_list(b" undisclosed-recipients:;"),
            vec![
                a(None, Some("undisclosed-recipients"), None),
                Address::default()
            ]
        );
        // Missing parts never yield a NIL host (that would be a group marker).
        assert_eq!(
            parse_list(b" localonly"),
            vec![a(None, Some("localonly"), Some("MISSING_DOMAIN"))]
        );
        assert_eq!(
            parse_list(b" <>"),
            vec![a(None, Some("MISSING_MAILBOX"), Some("MISSING_DOMAIN"))]
        );
        assert_eq!(
            parse_list(b" a@b (c) (d)"),
            vec![a(Some("d"), Some("a"), Some("b"))]
        );
        let routed = parse_list(b" <@a,@b:u@h>");
        assert_eq!(routed[0].adl.as_deref(), Some(&b"@a,@b"[..]));
        assert_eq!(routed[0].mailbox.as_deref(), Some(&b"u"[..]));
        assert!(parse_list(b"").is_empty());
        let _ = parse_list(b"((((((( <<<@@@>>> ,,, ;;; \"unterminated");
        // Found by fuzzing: a stray ')' used to stall the tokenizer.
        assert_eq!(
            parse_list(b" bob@x) y"),
            vec![a(None, Some("bob"), Some("xy"))]
        );
    }
}
