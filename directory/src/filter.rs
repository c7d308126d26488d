//! A pure parser and evaluator for LDAP search filters (RFC 4515 string form).
//!
//! The LDAP source sends filter strings to the server as they are; the LDIF
//! source parses the very same strings with this module and evaluates them
//! against its entries, so both sources see identical queries (including the
//! escaping of client-supplied values). Extensible matches are not supported.

use crate::entry::Entry;
use crate::error::DirError;

/// Longest filter string accepted.
pub const MAX_FILTER_LEN: usize = 16 * 1024;
/// Deepest nesting of `&`, `|` and `!` accepted.
pub const MAX_DEPTH: usize = 32;

/// A parsed filter. Assertion values are unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Equal(String, String),
    Approx(String, String),
    GreaterOrEqual(String, String),
    LessOrEqual(String, String),
    Present(String),
    Substrings {
        attr: String,
        initial: Option<String>,
        any: Vec<String>,
        last: Option<String>,
    },
}

impl Filter {
    /// Parses one parenthesised filter; trailing input is an error.
    pub fn parse(text: &str) -> Result<Filter, DirError> {
        if text.len() > MAX_FILTER_LEN {
            return Err(DirError::Filter(format!(
                "longer than {MAX_FILTER_LEN} bytes"
            )));
        }
        let mut p = Parser {
            s: text.trim().as_bytes(),
            pos: 0,
        };
        let f = p.filter(0)?;
        if p.pos != p.s.len() {
            return Err(p.err("trailing characters after the filter"));
        }
        Ok(f)
    }

    /// Evaluates the filter against an entry. Matching is case-insensitive for
    /// every attribute, which is what the KC attributes and the ones KC maps
    /// (uid, cn, mail, objectClass, ...) use on OpenLDAP and AD.
    pub fn matches(&self, e: &Entry) -> bool {
        match self {
            Filter::And(fs) => fs.iter().all(|f| f.matches(e)),
            Filter::Or(fs) => fs.iter().any(|f| f.matches(e)),
            Filter::Not(f) => !f.matches(e),
            Filter::Equal(a, v) | Filter::Approx(a, v) => {
                let v = fold(v);
                e.values(a).any(|x| fold(x) == v)
            }
            Filter::GreaterOrEqual(a, v) => e.values(a).any(|x| order(x, v).is_ge()),
            Filter::LessOrEqual(a, v) => e.values(a).any(|x| order(x, v).is_le()),
            Filter::Present(a) => a.eq_ignore_ascii_case("objectclass") || e.has(a),
            Filter::Substrings {
                attr,
                initial,
                any,
                last,
            } => e
                .values(attr)
                .any(|x| substring_match(&fold(x), initial, any, last)),
        }
    }
}

fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

fn order(stored: &str, asserted: &str) -> std::cmp::Ordering {
    match (stored.trim().parse::<i64>(), asserted.trim().parse::<i64>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => fold(stored).cmp(&fold(asserted)),
    }
}

fn substring_match(
    value: &str,
    initial: &Option<String>,
    any: &[String],
    last: &Option<String>,
) -> bool {
    let mut rest = value;
    if let Some(i) = initial {
        let i = fold(i);
        match rest.strip_prefix(i.as_str()) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    for a in any {
        let a = fold(a);
        match rest.find(a.as_str()) {
            Some(at) => rest = &rest[at + a.len()..],
            None => return false,
        }
    }
    match last {
        Some(l) => rest.ends_with(fold(l).as_str()),
        None => true,
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> DirError {
        DirError::Filter(format!("{what} at offset {}", self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), DirError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    fn filter(&mut self, depth: usize) -> Result<Filter, DirError> {
        if depth > MAX_DEPTH {
            return Err(self.err("filter nested too deeply"));
        }
        self.expect(b'(')?;
        let f = match self.peek() {
            Some(b'&') => {
                self.pos += 1;
                Filter::And(self.list(depth)?)
            }
            Some(b'|') => {
                self.pos += 1;
                Filter::Or(self.list(depth)?)
            }
            Some(b'!') => {
                self.pos += 1;
                Filter::Not(Box::new(self.filter(depth + 1)?))
            }
            _ => self.item()?,
        };
        self.expect(b')')?;
        Ok(f)
    }

    fn list(&mut self, depth: usize) -> Result<Vec<Filter>, DirError> {
        let mut out = Vec::new();
        while self.peek() == Some(b'(') {
            out.push(self.filter(depth + 1)?);
        }
        Ok(out)
    }

    fn item(&mut self) -> Result<Filter, DirError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b';' {
                self.pos += 1;
            } else {
                break;
            }
        }
        let attr = std::str::from_utf8(&self.s[start..self.pos])
            .map_err(|_| self.err("bad attribute description"))?
            .to_string();
        if attr.is_empty() {
            return Err(self.err("missing attribute description"));
        }
        let op = match (self.peek(), self.s.get(self.pos + 1).copied()) {
            (Some(b'='), _) => {
                self.pos += 1;
                b'='
            }
            (Some(c @ (b'~' | b'>' | b'<')), Some(b'=')) => {
                self.pos += 2;
                c
            }
            (Some(b':'), _) => return Err(self.err("extensible match is not supported")),
            _ => return Err(self.err("expected a filter operator")),
        };
        let vstart = self.pos;
        while let Some(c) = self.peek() {
            if c == b')' || c == b'(' {
                break;
            }
            self.pos += 1;
        }
        let raw = &self.s[vstart..self.pos];
        if op != b'=' {
            let v = self.unescape(raw)?;
            return Ok(match op {
                b'~' => Filter::Approx(attr, v),
                b'>' => Filter::GreaterOrEqual(attr, v),
                _ => Filter::LessOrEqual(attr, v),
            });
        }
        if raw == b"*" {
            return Ok(Filter::Present(attr));
        }
        if !raw.contains(&b'*') {
            return Ok(Filter::Equal(attr, self.unescape(raw)?));
        }
        let parts: Vec<&[u8]> = raw.split(|&c| c == b'*').collect();
        let n = parts.len();
        let mut any = Vec::new();
        for p in &parts[1..n - 1] {
            if !p.is_empty() {
                any.push(self.unescape(p)?);
            }
        }
        let opt = |p: &[u8], me: &Self| -> Result<Option<String>, DirError> {
            if p.is_empty() {
                Ok(None)
            } else {
                me.unescape(p).map(Some)
            }
        };
        Ok(Filter::Substrings {
            attr,
            initial: opt(parts[0], self)?,
            any,
            last: opt(parts[n - 1], self)?,
        })
    }

    fn unescape(&self, raw: &[u8]) -> Result<String, DirError> {
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'\\' {
                let hex = raw
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| self.err("bad \\XX escape in assertion value"))?;
                out.push(hex);
                i += 3;
            } else {
                out.push(raw[i]);
                i += 1;
            }
        }
        String::from_utf8(out).map_err(|_| self.err("assertion value is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escape::escape_filter_value;

    fn user() -> Entry {
        let mut e = Entry::new("uid=alice,ou=People,dc=example,dc=com");
        e.push("objectClass", "posixAccount".into());
        e.push("objectClass", "kopano-user".into());
        e.push("uid", "alice".into());
        e.push("uidNumber", "1001".into());
        e.push("mail", "Alice@Example.com".into());
        e
    }

    #[test]
    fn parses_and_evaluates() {
        let e = user();
        let t = |f: &str| Filter::parse(f).map(|f| f.matches(&e));
        assert_eq!(t("(uid=ALICE)"), Ok(true));
        assert_eq!(t("(&(objectClass=posixAccount)(uid=alice))"), Ok(true));
        assert_eq!(t("(|(uid=bob)(mail=alice@example.com))"), Ok(true));
        assert_eq!(t("(!(uid=alice))"), Ok(false));
        assert_eq!(t("(mail=*@example.com)"), Ok(true));
        assert_eq!(t("(mail=a*e*com)"), Ok(true));
        assert_eq!(t("(mail=b*)"), Ok(false));
        assert_eq!(t("(sn=*)"), Ok(false));
        assert_eq!(t("(objectClass=*)"), Ok(true));
        assert_eq!(t("(uidNumber>=1000)"), Ok(true));
        assert_eq!(t("(uidNumber<=999)"), Ok(false));
        assert_eq!(t("(&)"), Ok(true));
        assert_eq!(t("(|)"), Ok(false));
    }

    #[test]
    fn escaped_injection_is_literal() {
        let e = user();
        for hostile in ["*)(uid=*", "admin)(|(a=*", "*", "alice)(uid=alice"] {
            let f = format!(
                "(&(objectClass=posixAccount)(uid={}))",
                escape_filter_value(hostile)
            );
            let parsed = Filter::parse(&f).unwrap();
            assert!(!parsed.matches(&e), "{hostile} matched");
        }
        let f = Filter::parse(&format!("(uid={})", escape_filter_value("a*b"))).unwrap();
        assert_eq!(f, Filter::Equal("uid".into(), "a*b".into()));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "uid=a",
            "(uid=a",
            "(uid=a))",
            "(=a)",
            "(uid~a)",
            "(uid=\\zz)",
            "(cn:dn:=x)",
            "(&(uid=a)",
            "(uid=a)(uid=b)",
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad:?} parsed");
        }
        let deep = format!(
            "{}(a=b){}",
            "(!".repeat(MAX_DEPTH + 2),
            ")".repeat(MAX_DEPTH + 2)
        );
        assert!(Filter::parse(&deep).is_err());
        assert!(Filter::parse(&"(a=b)".repeat(5000)).is_err());
    }
}
