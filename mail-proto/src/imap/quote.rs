//! Writing IMAP strings: quoted when safe, a literal otherwise.
//!
//! A quoted string may only hold 7-bit TEXT-CHARs (no NUL, CR or LF), and
//! clients handle very long quoted strings badly, so anything else becomes a
//! `{n}` literal. Atoms are used only where the grammar allows an astring.

use super::parser::is_astring_char;

/// Longest value written as a quoted string.
const MAX_QUOTED: usize = 1024;

fn quotable(s: &[u8]) -> bool {
    s.len() <= MAX_QUOTED
        && s.iter()
            .all(|&b| b != 0 && b != b'\r' && b != b'\n' && b < 0x80)
}

/// Writes `s` as a quoted string or a literal.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if quotable(s) {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        write_literal(out, s);
    }
}

/// Writes `{n}\r\n` and the bytes.
pub fn write_literal(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
}

/// Writes a string or `NIL`.
pub fn write_nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => write_string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Writes an astring: a bare atom when possible (never for `NIL`, which
/// would read as nil), else a string.
pub fn write_astring(out: &mut Vec<u8>, s: &[u8]) {
    if !s.is_empty() && s.iter().all(|&b| is_astring_char(b)) && !s.eq_ignore_ascii_case(b"NIL") {
        out.extend_from_slice(s);
    } else {
        write_string(out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn quoting_choices() {
        assert_eq!(s(|o| write_string(o, b"plain")), "\"plain\"");
        assert_eq!(s(|o| write_string(o, b"a\"b\\c")), "\"a\\\"b\\\\c\"");
        assert_eq!(s(|o| write_string(o, "ä".as_bytes())), "{2}\r\nä");
        assert_eq!(s(|o| write_string(o, b"a\r\nb")), "{4}\r\na\r\nb");
        assert_eq!(s(|o| write_nstring(o, None)), "NIL");
        assert_eq!(s(|o| write_astring(o, b"INBOX")), "INBOX");
        assert_eq!(s(|o| write_astring(o, b"Sent Items")), "\"Sent Items\"");
        assert_eq!(s(|o| write_astring(o, b"nil")), "\"nil\"");
        assert_eq!(s(|o| write_astring(o, b"")), "\"\"");
        assert_eq!(s(|o| write_astring(o, b"a%")), "\"a%\"");
        let long = vec![b'x'; 2000];
        assert!(s(|o| write_string(o, &long)).starts_with("{2000}\r\n"));
    }
}
