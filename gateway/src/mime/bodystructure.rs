//! BODY and BODYSTRUCTURE (RFC 3501 §7.4.2) from the MIME tree.
//!
//! Non-multipart: `(type subtype (params) id description encoding size`
//! then, for `text/*`, the line count, and for `message/rfc822` the
//! encapsulated ENVELOPE, BODYSTRUCTURE and line count; BODYSTRUCTURE adds
//! `md5 disposition language location`. Multipart: the children, then the
//! subtype; BODYSTRUCTURE adds `(params) disposition language location`.
//! Strings are written as they appear in the message (encoded-words and
//! case included); absent values are `NIL`.

use super::envelope::Envelope;
use super::header::{self, parse_params, ParamValue};
use super::part::{Part, PartKind};
use crate::imap::quote::{write_nstring, write_string};

/// Writes BODYSTRUCTURE (`extended`) or BODY (not extended) of `part`,
/// normally the root from [`super::part::parse`].
pub fn write(msg: &[u8], part: &Part, extended: bool, out: &mut Vec<u8>) {
    match &part.kind {
        PartKind::Multipart(children) => write_multipart(msg, part, children, extended, out),
        _ => write_single(msg, part, extended, out),
    }
}

/// BODYSTRUCTURE or BODY of a whole message as a string of bytes.
pub fn compute(msg: &[u8], extended: bool) -> Vec<u8> {
    let root = super::part::parse(msg);
    let mut out = Vec::new();
    write(msg, &root, extended, &mut out);
    out
}

fn type_names(part: &Part) -> (Vec<u8>, Vec<u8>) {
    if let Some(ct) = &part.content_type {
        if let Some(slash) = ct.value.iter().position(|&b| b == b'/') {
            return (ct.value[..slash].to_vec(), ct.value[slash + 1..].to_vec());
        }
    }
    (
        part.media_type.as_bytes().to_vec(),
        part.subtype.as_bytes().to_vec(),
    )
}

fn write_params(out: &mut Vec<u8>, params: &[(Vec<u8>, Vec<u8>)]) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_string(out, name);
        out.push(b' ');
        write_string(out, value);
    }
    out.push(b')');
}

fn field(msg: &[u8], part: &Part, name: &str) -> Option<Vec<u8>> {
    header::value(msg, &part.fields, name)
}

fn write_single(msg: &[u8], part: &Part, extended: bool, out: &mut Vec<u8>) {
    let (media_type, subtype) = type_names(part);
    out.push(b'(');
    write_string(out, &media_type);
    out.push(b' ');
    write_string(out, &subtype);
    out.push(b' ');
    let mut params = part
        .content_type
        .as_ref()
        .map(|c| c.params.clone())
        .unwrap_or_default();
    if part.is_text()
        && !params
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(b"charset"))
    {
        // RFC 2045 §5.2 default, appended as Dovecot does.
        params.push((b"charset".to_vec(), b"us-ascii".to_vec()));
    }
    write_params(out, &params);
    out.push(b' ');
    write_nstring(out, field(msg, part, "Content-ID").as_deref());
    out.push(b' ');
    write_nstring(out, field(msg, part, "Content-Description").as_deref());
    out.push(b' ');
    let encoding =
        field(msg, part, "Content-Transfer-Encoding").unwrap_or_else(|| b"7bit".to_vec());
    write_string(out, &encoding);
    let body = &msg[part.body.clone()];
    out.extend_from_slice(format!(" {}", body.len()).as_bytes());
    if let PartKind::Message(inner) = &part.kind {
        out.push(b' ');
        Envelope::from_fields(msg, &inner.fields).serialize(out);
        out.push(b' ');
        write(msg, inner, extended, out);
        out.extend_from_slice(format!(" {}", count_lines(body)).as_bytes());
    } else if part.is_text() {
        out.extend_from_slice(format!(" {}", count_lines(body)).as_bytes());
    }
    if extended {
        out.push(b' ');
        write_nstring(out, field(msg, part, "Content-MD5").as_deref());
        write_extension(msg, part, out);
    }
    out.push(b')');
}

fn write_multipart(msg: &[u8], part: &Part, children: &[Part], extended: bool, out: &mut Vec<u8>) {
    out.push(b'(');
    if children.is_empty() {
        // A multipart needs at least one body: stand in an empty text part.
        out.extend_from_slice(
            b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0",
        );
        if extended {
            out.extend_from_slice(b" NIL NIL NIL NIL");
        }
        out.push(b')');
    }
    for child in children {
        write(msg, child, extended, out);
    }
    out.push(b' ');
    let (_, subtype) = type_names(part);
    write_string(out, &subtype);
    if extended {
        out.push(b' ');
        let params = part
            .content_type
            .as_ref()
            .map(|c| c.params.as_slice())
            .unwrap_or_default();
        write_params(out, params);
        write_extension(msg, part, out);
    }
    out.push(b')');
}

/// ` disposition language location`.
fn write_extension(msg: &[u8], part: &Part, out: &mut Vec<u8>) {
    out.push(b' ');
    match header::first(msg, &part.fields, "Content-Disposition").map(|v| parse_params(v, false)) {
        Some(ParamValue { value, params }) if !value.is_empty() => {
            out.push(b'(');
            write_string(out, &value);
            out.push(b' ');
            write_params(out, &params);
            out.push(b')');
        }
        _ => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    let langs: Vec<Vec<u8>> = field(msg, part, "Content-Language")
        .map(|v| {
            v.split(|&b| b == b',')
                .map(header::unfold)
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    // Always a list when present (RFC 3501 allows either; Dovecot lists).
    match langs.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        many => {
            out.push(b'(');
            for (i, l) in many.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_string(out, l);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    write_nstring(out, field(msg, part, "Content-Location").as_deref());
}

/// Lines in a body: the number of line feeds. A final line without a
/// line break is not counted, as Dovecot does.
pub fn count_lines(body: &[u8]) -> usize {
    body.iter().filter(|&&b| b == b'\n').count()
}
