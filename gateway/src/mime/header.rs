//! Header blocks on raw bytes: where they end, their fields, unfolding, and
//! `type/subtype; name=value` parameter lists (RFC 5322 §2.2, RFC 2045 §5).
//!
//! Values are kept as raw bytes: IMAP wants header text exactly as sent,
//! RFC 2047 encoded-words included, so nothing here decodes charsets.

use std::ops::Range;

/// Most fields read from one header block; later ones are ignored.
pub const MAX_FIELDS: usize = 10_000;

/// One header field, by byte offsets into the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field name (without the colon), trailing blanks removed.
    pub name: Range<usize>,
    /// The raw value after the colon, folding included, line ending excluded.
    pub value: Range<usize>,
    /// The whole field including its final line ending.
    pub raw: Range<usize>,
}

/// Finds the end of the header block that starts at `start`: returns
/// `(header_end, body_start)`, where the header range includes the blank
/// line. Without a blank line the whole range is header and the body empty.
pub fn split_header(msg: &[u8], range: Range<usize>) -> (usize, usize) {
    let mut pos = range.start;
    let end = range.end;
    while pos < end {
        // `pos` is at the start of a line.
        if msg[pos] == b'\n' {
            return (pos + 1, pos + 1);
        }
        if msg[pos] == b'\r' && pos + 1 < end && msg[pos + 1] == b'\n' {
            return (pos + 2, pos + 2);
        }
        match msg[pos..end].iter().position(|&b| b == b'\n') {
            Some(i) => pos += i + 1,
            None => return (end, end),
        }
    }
    (end, end)
}

/// Lists the fields of the header block in `range` (as returned by
/// [`split_header`]). Lines that are neither a field nor a continuation are
/// skipped.
pub fn fields(msg: &[u8], range: Range<usize>) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    let mut pos = range.start;
    while pos < range.end && out.len() < MAX_FIELDS {
        let line_end = msg[pos..range.end]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(range.end, |i| pos + i + 1);
        let line = &msg[pos..line_end];
        let content_end = line_end - trailing_eol(line);
        if content_end == pos {
            break; // the blank line
        }
        if matches!(msg[pos], b' ' | b'\t') {
            if let Some(last) = out.last_mut() {
                last.value.end = content_end;
                last.raw.end = line_end;
            }
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            let mut name_end = pos + colon;
            while name_end > pos && matches!(msg[name_end - 1], b' ' | b'\t') {
                name_end -= 1;
            }
            if name_end > pos {
                out.push(Field {
                    name: pos..name_end,
                    value: pos + colon + 1..content_end,
                    raw: pos..line_end,
                });
            }
        }
        pos = line_end;
    }
    out
}

fn trailing_eol(line: &[u8]) -> usize {
    match line {
        [.., b'\r', b'\n'] => 2,
        [.., b'\n'] => 1,
        _ => 0,
    }
}

/// The raw value of the first field called `name` (case-insensitive).
pub fn first<'m>(msg: &'m [u8], fields: &[Field], name: &str) -> Option<&'m [u8]> {
    fields
        .iter()
        .find(|f| msg[f.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| &msg[f.value.clone()])
}

/// Removes folding line breaks (keeping the whitespace that follows them)
/// and trims surrounding whitespace.
pub fn unfold(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        if b != b'\r' && b != b'\n' {
            out.push(b);
        }
    }
    let start = out
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(out.len());
    let end = out
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    out[start..end].to_vec()
}

/// The unfolded value of a field, `None` when absent or blank.
pub fn value(msg: &[u8], fields: &[Field], name: &str) -> Option<Vec<u8>> {
    first(msg, fields, name)
        .map(unfold)
        .filter(|v| !v.is_empty())
}

/// A parsed `Content-Type` / `Content-Disposition` style value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParamValue {
    /// The main value (`text/plain`, `attachment`), as written.
    pub value: Vec<u8>,
    /// Parameters in order, names as written, values unquoted.
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
}

impl ParamValue {
    /// The first parameter called `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }
}

/// Most parameters kept from one field.
const MAX_PARAMS: usize = 100;

/// Skips whitespace and RFC 5322 comments (nesting bounded).
fn skip_cfws(v: &[u8], mut i: usize) -> usize {
    loop {
        while i < v.len() && v[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < v.len() && v[i] == b'(' {
            let mut depth = 0usize;
            while i < v.len() {
                match v[i] {
                    b'\\' => i += 1,
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            return i.min(v.len());
        }
    }
}

fn is_tspecial(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')'
            | b'<'
            | b'>'
            | b'@'
            | b','
            | b';'
            | b':'
            | b'\\'
            | b'"'
            | b'/'
            | b'['
            | b']'
            | b'?'
            | b'='
    )
}

fn token(v: &[u8], mut i: usize, allow_slash: bool) -> (Vec<u8>, usize) {
    let start = i;
    while i < v.len()
        && !v[i].is_ascii_whitespace()
        && v[i] > 0x1f
        && (!is_tspecial(v[i]) || (allow_slash && v[i] == b'/'))
    {
        i += 1;
    }
    (v[start..i].to_vec(), i)
}

fn quoted(v: &[u8], mut i: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    i += 1; // opening quote
    while i < v.len() {
        match v[i] {
            b'"' => return (out, i + 1),
            b'\\' if i + 1 < v.len() => {
                out.push(v[i + 1]);
                i += 2;
            }
            b'\r' | b'\n' => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    (out, i)
}

/// Parses `value *(";" name "=" (token / quoted-string))`, leniently: a
/// broken parameter is skipped up to the next `;`.
pub fn parse_params(raw: &[u8], allow_slash: bool) -> ParamValue {
    let v = raw;
    let mut i = skip_cfws(v, 0);
    let (mut value, next) = token(v, i, allow_slash);
    i = next;
    if allow_slash {
        // Allow "text / plain" with comments or spaces around the slash.
        let j = skip_cfws(v, i);
        if j < v.len() && v[j] == b'/' && !value.contains(&b'/') {
            let k = skip_cfws(v, j + 1);
            let (sub, after) = token(v, k, false);
            value.push(b'/');
            value.extend_from_slice(&sub);
            i = after;
        }
    }
    let mut params = Vec::new();
    loop {
        // Find the next ';'.
        while i < v.len() && v[i] != b';' {
            if v[i] == b'"' {
                i = quoted(v, i).1;
            } else {
                i += 1;
            }
        }
        if i >= v.len() || params.len() >= MAX_PARAMS {
            break;
        }
        i = skip_cfws(v, i + 1);
        let (name, after) = token(v, i, false);
        i = skip_cfws(v, after);
        if name.is_empty() || i >= v.len() || v[i] != b'=' {
            continue;
        }
        i = skip_cfws(v, i + 1);
        let (val, after) = if i < v.len() && v[i] == b'"' {
            quoted(v, i)
        } else {
            token(v, i, true)
        };
        i = after;
        params.push((name, val));
    }
    ParamValue { value, params }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_split_and_fields() {
        let m = b"From: a@b\r\nSubject: hello\r\n  world\r\nX-Empty:\r\n\r\nbody\r\n";
        let (h, b) = split_header(m, 0..m.len());
        assert_eq!(&m[b..], b"body\r\n");
        assert_eq!(h, b);
        let f = fields(m, 0..h);
        assert_eq!(f.len(), 3);
        assert_eq!(value(m, &f, "subject").unwrap(), b"hello  world");
        assert_eq!(value(m, &f, "x-empty"), None);
        assert_eq!(&m[f[1].raw.clone()], b"Subject: hello\r\n  world\r\n");
        let no_body = b"From: x\r\n";
        assert_eq!(split_header(no_body, 0..no_body.len()), (9, 9));
        let empty_header = b"\r\nbody";
        assert_eq!(split_header(empty_header, 0..6), (2, 2));
    }

    #[test]
    fn params() {
        let p = parse_params(
            b" text/plain; charset=\"us-ascii\" (comment); format=flowed",
            true,
        );
        assert_eq!(p.value, b"text/plain");
        assert_eq!(p.param("CHARSET"), Some(&b"us-ascii"[..]));
        assert_eq!(p.param("format"), Some(&b"flowed"[..]));
        let p = parse_params(b"multipart/mixed;\r\n boundary=\"=_a;b\"", true);
        assert_eq!(p.param("boundary"), Some(&b"=_a;b"[..]));
        let p = parse_params(
            b"attachment; filename=\"a \\\"b\\\".txt\"; broken; size=12",
            false,
        );
        assert_eq!(p.value, b"attachment");
        assert_eq!(
            p.params,
            vec![
                (b"filename".to_vec(), b"a \"b\".txt".to_vec()),
                (b"size".to_vec(), b"12".to_vec())
            ]
        );
    }
}
