//! The MIME tree of a message, by byte offsets (RFC 2045/2046).
//!
//! A small splitter of our own rather than `mail-parser`: BODY\[n\],
//! BODY\[n.MIME\] and BODYSTRUCTURE sizes need the exact byte range of
//! every header and body as sent (including where a body ends before the
//! CRLF that belongs to the next boundary), and IMAP wants raw header values,
//! whereas mail-parser decodes and normalises. The splitter never copies
//! message bytes; each [`Part`] holds ranges into the original buffer.
//!
//! Bounds: nesting deeper than [`MAX_DEPTH`] and parts beyond [`MAX_PARTS`]
//! are not split further (the remaining bytes stay in the enclosing part),
//! so hostile input costs at most O(depth × size).

use std::ops::Range;

use super::header::{self, Field, ParamValue};

/// Deepest multipart / message/rfc822 nesting that is split.
pub const MAX_DEPTH: usize = 50;
/// Most parts split out of one message.
pub const MAX_PARTS: usize = 5_000;

/// What a part contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartKind {
    /// A single body (text, image, ...), or a multipart/message that could
    /// not be split.
    Leaf,
    /// `multipart/*` with its children in order.
    Multipart(Vec<Part>),
    /// `message/rfc822` (or `message/global`) with the encapsulated message.
    Message(Box<Part>),
}

/// One MIME entity: the whole message or a body part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Header block including the blank line that ends it.
    pub header: Range<usize>,
    /// Body bytes.
    pub body: Range<usize>,
    /// Header fields of this part.
    pub fields: Vec<Field>,
    /// Media type, lower-cased, e.g. `text`.
    pub media_type: String,
    /// Media subtype, lower-cased, e.g. `plain`.
    pub subtype: String,
    /// The parsed Content-Type (parameters as written); `None` when the
    /// header is missing or unusable and the default applied.
    pub content_type: Option<ParamValue>,
    /// Children.
    pub kind: PartKind,
}

impl Part {
    /// The whole entity, header and body.
    pub fn range(&self) -> Range<usize> {
        self.header.start..self.body.end
    }

    /// Whether this part is `text/*`.
    pub fn is_text(&self) -> bool {
        self.media_type == "text"
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Default {
    TextPlain,
    MessageRfc822,
}

/// Parses `msg` into its MIME tree.
pub fn parse(msg: &[u8]) -> Part {
    let mut budget = MAX_PARTS;
    parse_entity(msg, 0..msg.len(), Default::TextPlain, 0, &mut budget)
}

fn parse_entity(
    msg: &[u8],
    range: Range<usize>,
    default: Default,
    depth: usize,
    budget: &mut usize,
) -> Part {
    let (header_end, body_start) = header::split_header(msg, range.clone());
    let fields = header::fields(msg, range.start..header_end);
    let ct = header::first(msg, &fields, "Content-Type").map(|v| header::parse_params(v, true));
    let (media_type, subtype, content_type) = match ct.as_ref().and_then(split_type) {
        Some((t, s)) => (t, s, ct),
        None => match default {
            Default::TextPlain => ("text".to_string(), "plain".to_string(), None),
            Default::MessageRfc822 => ("message".to_string(), "rfc822".to_string(), None),
        },
    };
    let mut part = Part {
        header: range.start..header_end,
        body: body_start..range.end,
        fields,
        media_type,
        subtype,
        content_type,
        kind: PartKind::Leaf,
    };
    if depth >= MAX_DEPTH || *budget == 0 {
        return part;
    }
    if part.media_type == "multipart" {
        let boundary = part
            .content_type
            .as_ref()
            .and_then(|c| c.param("boundary"))
            .map(<[u8]>::to_vec);
        if let Some(boundary) = boundary.filter(|b| !b.is_empty()) {
            let child_default = if part.subtype == "digest" {
                Default::MessageRfc822
            } else {
                Default::TextPlain
            };
            let ranges = split_multipart(msg, part.body.clone(), &boundary, budget);
            let children = ranges
                .into_iter()
                .map(|r| {
                    let mut child = parse_entity(msg, r.clone(), child_default, depth + 1, budget);
                    if let Some(extra) = close_line_break(msg, &child, r.end, part.body.end) {
                        extend_end(&mut child, r.end + extra);
                    }
                    child
                })
                .collect();
            part.kind = PartKind::Multipart(children);
        } else {
            // No usable boundary: a multipart without parts (serialised with
            // an empty text part, as Dovecot does).
            part.kind = PartKind::Multipart(Vec::new());
        }
    } else if part.media_type == "message" && (part.subtype == "rfc822" || part.subtype == "global")
    {
        *budget -= 1;
        let inner = parse_entity(
            msg,
            part.body.clone(),
            Default::TextPlain,
            depth + 1,
            budget,
        );
        part.kind = PartKind::Message(Box::new(inner));
    }
    part
}

fn split_type(ct: &ParamValue) -> Option<(String, String)> {
    let v = std::str::from_utf8(&ct.value).ok()?;
    let (t, s) = v.split_once('/')?;
    if t.is_empty() || s.is_empty() {
        return None;
    }
    Some((t.to_ascii_lowercase(), s.to_ascii_lowercase()))
}

/// The boundary whose close delimiter would end `part`: its own for a
/// multipart, that of the encapsulated message for message/rfc822.
fn closing_boundary(part: &Part) -> Option<&[u8]> {
    match &part.kind {
        PartKind::Multipart(_) => part.content_type.as_ref().and_then(|c| c.param("boundary")),
        PartKind::Message(inner) => closing_boundary(inner),
        PartKind::Leaf => None,
    }
}

/// When a child ends with the close delimiter of its own (nested)
/// multipart, the line break after that delimiter line stays with the child
/// instead of going to the parent's next delimiter: Dovecot's reading,
/// which clients see in sizes and BODY\[n\], so it is followed here.
/// Returns the length of that line break.
fn close_line_break(msg: &[u8], child: &Part, end: usize, limit: usize) -> Option<usize> {
    let boundary = closing_boundary(child)?;
    let line_start = msg[..end]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
        .max(child.header.start);
    if delimiter(&msg[line_start..end], boundary) != Some(true) {
        return None;
    }
    let rest = &msg[end..limit];
    if rest.starts_with(b"\r\n") {
        Some(2)
    } else if rest.starts_with(b"\n") {
        Some(1)
    } else {
        None
    }
}

/// Moves the end of `part` (and of an encapsulated message) to `end`.
fn extend_end(part: &mut Part, end: usize) {
    part.body.end = end;
    if let PartKind::Message(inner) = &mut part.kind {
        extend_end(inner, end);
    }
}

/// Whether the line at `pos..line_end` (content without line ending) is a
/// delimiter for `boundary`; `Some(true)` for the close delimiter.
fn delimiter(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    let (close, rest) = match rest.strip_prefix(b"--") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    // RFC 2046 allows trailing whitespace ("transport padding").
    rest.iter()
        .all(|b| *b == b' ' || *b == b'\t')
        .then_some(close)
}

/// Splits a multipart body into the byte ranges of its body parts. Each
/// part ends before the line break that precedes the next delimiter. A
/// missing close delimiter ends the last part at the end of the body.
fn split_multipart(
    msg: &[u8],
    body: Range<usize>,
    boundary: &[u8],
    budget: &mut usize,
) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let mut current: Option<usize> = None;
    let mut pos = body.start;
    while pos < body.end {
        let line_end = msg[pos..body.end]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.end, |i| pos + i + 1);
        let mut content_end = line_end;
        if content_end > pos && msg[content_end - 1] == b'\n' {
            content_end -= 1;
            if content_end > pos && msg[content_end - 1] == b'\r' {
                content_end -= 1;
            }
        }
        if msg[pos] == b'-' {
            if let Some(close) = delimiter(&msg[pos..content_end], boundary) {
                if let (Some(start), false, 0) = (current, close, *budget) {
                    // Out of parts: the rest stays in the last one.
                    parts.push(start..body.end);
                    return parts;
                }
                if let Some(start) = current.take() {
                    // The line break before the delimiter belongs to it.
                    let mut end = pos;
                    if end > start && msg[end - 1] == b'\n' {
                        end -= 1;
                        if end > start && msg[end - 1] == b'\r' {
                            end -= 1;
                        }
                    }
                    parts.push(start..end.max(start));
                }
                if close || *budget == 0 {
                    return parts;
                }
                *budget -= 1;
                current = Some(line_end);
            }
        }
        pos = line_end;
    }
    if let Some(start) = current {
        parts.push(start..body.end);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_ranges() {
        let m = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nepilogue\r\n";
        let p = parse(m);
        let PartKind::Multipart(ch) = &p.kind else {
            panic!("{p:?}")
        };
        assert_eq!(ch.len(), 2);
        assert_eq!(&m[ch[0].body.clone()], b"one");
        assert_eq!(
            &m[ch[0].header.clone()],
            b"Content-Type: text/plain\r\n\r\n"
        );
        assert_eq!(&m[ch[1].header.clone()], b"\r\n");
        assert_eq!(&m[ch[1].body.clone()], b"two");
        assert_eq!(ch[1].media_type, "text");
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut m = Vec::new();
        for i in 0..200 {
            m.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n")
                    .as_bytes(),
            );
        }
        m.extend_from_slice(b"\r\nleaf\r\n");
        let mut p = parse(&m);
        let mut depth = 0;
        while let PartKind::Multipart(mut ch) = p.kind {
            p = ch.remove(0);
            depth += 1;
        }
        assert_eq!(depth, MAX_DEPTH);
    }

    #[test]
    fn many_parts_are_bounded() {
        let mut m = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n".to_vec();
        for _ in 0..(MAX_PARTS + 100) {
            m.extend_from_slice(b"--x\r\n\r\na\r\n");
        }
        let p = parse(&m);
        let PartKind::Multipart(ch) = &p.kind else {
            panic!()
        };
        assert!(ch.len() <= MAX_PARTS);
    }
}
