//! A pure parser for LDIF content files (an RFC 2849 subset): `dn:`,
//! `attr: value`, `attr:: base64`, line folding, comments, `version: 1`.
//! Change records and `attr:< URL` are refused. Every size is bounded.

use base64::Engine;

use crate::entry::Entry;

/// Bounds applied while parsing; exceeding one is an error, never a truncation.
#[derive(Debug, Clone, Copy)]
pub struct LdifLimits {
    /// Whole input, in bytes.
    pub max_bytes: usize,
    /// One logical (unfolded) line, in bytes.
    pub max_line: usize,
    pub max_entries: usize,
    /// Attribute values in one entry.
    pub max_values_per_entry: usize,
}

impl Default for LdifLimits {
    fn default() -> Self {
        LdifLimits {
            max_bytes: 64 * 1024 * 1024,
            max_line: 1024 * 1024,
            max_entries: 1_000_000,
            max_values_per_entry: 10_000,
        }
    }
}

/// A parse error with the 1-based line where the offending record line starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LdifError {
    pub line: usize,
    pub reason: String,
}

fn err(line: usize, reason: impl Into<String>) -> LdifError {
    LdifError {
        line,
        reason: reason.into(),
    }
}

/// Parses LDIF text into entries, in file order.
pub fn parse_ldif(text: &str, limits: &LdifLimits) -> Result<Vec<Entry>, LdifError> {
    if text.len() > limits.max_bytes {
        return Err(err(
            0,
            format!("input larger than {} bytes", limits.max_bytes),
        ));
    }
    let mut entries = Vec::new();
    let mut current: Option<Entry> = None;
    let mut values_in_entry = 0usize;
    let mut first_record = true;

    for (lineno, line) in unfold(text, limits)? {
        if line.is_empty() {
            if let Some(e) = current.take() {
                entries.push(e);
                if entries.len() > limits.max_entries {
                    return Err(err(
                        lineno,
                        format!("more than {} entries", limits.max_entries),
                    ));
                }
            }
            continue;
        }
        let (name, value) = attr_value(&line).map_err(|r| err(lineno, r))?;
        match current.as_mut() {
            None => {
                if first_record && name.eq_ignore_ascii_case("version") {
                    if value != "1" {
                        return Err(err(lineno, "only LDIF version 1 is supported"));
                    }
                    first_record = false;
                    continue;
                }
                first_record = false;
                if !name.eq_ignore_ascii_case("dn") {
                    return Err(err(lineno, "a record must start with 'dn:'"));
                }
                current = Some(Entry::new(value));
                values_in_entry = 0;
            }
            Some(e) => {
                if name.eq_ignore_ascii_case("dn") {
                    return Err(err(lineno, "'dn:' inside a record (missing blank line?)"));
                }
                if name.eq_ignore_ascii_case("changetype") {
                    return Err(err(lineno, "change records are not supported"));
                }
                values_in_entry += 1;
                if values_in_entry > limits.max_values_per_entry {
                    return Err(err(
                        lineno,
                        format!(
                            "more than {} values in one entry",
                            limits.max_values_per_entry
                        ),
                    ));
                }
                e.push(&name, value);
            }
        }
    }
    if let Some(e) = current.take() {
        entries.push(e);
        if entries.len() > limits.max_entries {
            return Err(err(0, format!("more than {} entries", limits.max_entries)));
        }
    }
    Ok(entries)
}

/// Joins folded lines (a continuation starts with one space), drops comment
/// lines (including their continuations), and yields (first line number,
/// logical line). Blank lines are kept as record separators.
fn unfold(text: &str, limits: &LdifLimits) -> Result<Vec<(usize, String)>, LdifError> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut in_comment = false;
    for (i, raw) in text.split('\n').enumerate() {
        let lineno = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(cont) = raw.strip_prefix(' ') {
            if in_comment {
                continue;
            }
            match out.last_mut() {
                Some((_, last)) if !last.is_empty() => {
                    if last.len() + cont.len() > limits.max_line {
                        return Err(err(
                            lineno,
                            format!("line longer than {} bytes", limits.max_line),
                        ));
                    }
                    last.push_str(cont);
                }
                _ => return Err(err(lineno, "continuation line without a line to continue")),
            }
            continue;
        }
        if raw.starts_with('#') {
            in_comment = true;
            continue;
        }
        in_comment = false;
        if raw.len() > limits.max_line {
            return Err(err(
                lineno,
                format!("line longer than {} bytes", limits.max_line),
            ));
        }
        if raw.trim().is_empty() {
            if !matches!(out.last(), Some((_, l)) if l.is_empty()) {
                out.push((lineno, String::new()));
            }
        } else {
            out.push((lineno, raw.to_string()));
        }
    }
    Ok(out)
}

/// Splits `name: value`, `name:: base64` (decoded; non-UTF-8 becomes hex).
fn attr_value(line: &str) -> Result<(String, String), String> {
    let (name, rest) = line
        .split_once(':')
        .ok_or_else(|| "expected 'attribute: value'".to_string())?;
    let name = name.trim_end();
    if name.is_empty()
        || !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b';' || c == b'.')
    {
        return Err(format!("bad attribute description '{name}'"));
    }
    if let Some(b64) = rest.strip_prefix(':') {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| format!("bad base64 value for '{name}': {e}"))?;
        let value = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => to_hex(e.as_bytes()),
        };
        return Ok((name.to_string(), value));
    }
    if rest.starts_with('<') {
        return Err(format!("URL values ('{name}:<') are not supported"));
    }
    // RFC 2849: FILL (spaces) after the colon is not part of the value.
    Ok((name.to_string(), rest.trim_start_matches(' ').to_string()))
}

pub(crate) fn to_hex(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Vec<Entry>, LdifError> {
        parse_ldif(t, &LdifLimits::default())
    }

    #[test]
    fn parses_records_folding_base64_comments() {
        let t = "version: 1\n# a comment\n#  folded comment\n continued\n\
dn: uid=alice,ou=People,\n dc=example,dc=com\nobjectClass: posixAccount\ncn:: QWxpY2Ugw5xtbGF1dA==\n\
description: long\n  value\r\n\n\n# between\ndn:: dWlkPWJvYixkYz1leGFtcGxlLGRjPWNvbQ==\nuid: bob\njpegPhoto:: AP8=\n";
        let es = parse(t).unwrap();
        assert_eq!(es.len(), 2);
        assert_eq!(es[0].dn, "uid=alice,ou=People,dc=example,dc=com");
        assert_eq!(es[0].first("cn"), Some("Alice Ümlaut"));
        assert_eq!(es[0].first("description"), Some("long value"));
        assert_eq!(es[1].dn, "uid=bob,dc=example,dc=com");
        assert_eq!(es[1].first("jpegPhoto"), Some("00ff"));
    }

    #[test]
    fn refuses_bad_input() {
        assert!(parse("uid: x\n").is_err());
        assert!(parse("dn: a\nchangetype: add\n").is_err());
        assert!(parse("dn: a\nphoto:< file:///etc/passwd\n").is_err());
        assert!(parse(" leading continuation\n").is_err());
        assert!(parse("dn: a\ncn:: !!!\n").is_err());
        assert!(parse("dn: a\nnovalue\n").is_err());
        assert!(parse("dn: a\ndn: b\n").is_err());
        assert!(parse("version: 2\n").is_err());
        assert_eq!(parse("dn: a\nb: c\n\ndn: x\nb: y\n").unwrap().len(), 2);
        let limits = LdifLimits {
            max_entries: 1,
            ..LdifLimits::default()
        };
        assert!(parse_ldif("dn: a\nb: c\n\ndn: x\nb: y\n", &limits).is_err());
        let limits = LdifLimits {
            max_line: 10,
            ..LdifLimits::default()
        };
        assert!(parse_ldif("dn: a\nb: 0123456789\n", &limits).is_err());
        assert!(parse_ldif("dn: a\nb: 01234\n 56789\n", &limits).is_err());
        let limits = LdifLimits {
            max_values_per_entry: 1,
            ..LdifLimits::default()
        };
        assert!(parse_ldif("dn: a\nb: c\nb: d\n", &limits).is_err());
    }

    #[test]
    fn empty_input_is_empty() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("\n\n# only comments\n").unwrap(), vec![]);
    }
}
