//! `BODY[section]<partial>` extraction from the raw bytes (RFC 3501 §6.4.5).
//!
//! Part numbers follow RFC 3501: a non-multipart message has only part 1
//! (its body); the parts of a `message/rfc822` part are those of the
//! encapsulated message. `HEADER`, `HEADER.FIELDS`, `HEADER.FIELDS.NOT` and
//! `TEXT` apply to the whole message or, after a part number, to an
//! encapsulated message; `MIME` is the MIME header of a part.

use super::header;
use super::part::{Part, PartKind};
use crate::imap::protocol::{Partial, Section, SectionText};

/// Finds the part addressed by `path` inside the message `msg_part`.
fn in_message<'p>(msg_part: &'p Part, path: &[u32]) -> Option<&'p Part> {
    let Some((&n, rest)) = path.split_first() else {
        return Some(msg_part);
    };
    let p = match &msg_part.kind {
        PartKind::Multipart(children) => children.get(usize::try_from(n).ok()?.checked_sub(1)?)?,
        // A single-part message has only part 1, with no parts below it
        // (unlike a single part inside a multipart; see `in_part`).
        PartKind::Leaf if n == 1 && rest.is_empty() => msg_part,
        PartKind::Message(_) if n == 1 => msg_part,
        _ => return None,
    };
    in_part(p, rest)
}

fn in_part<'p>(p: &'p Part, path: &[u32]) -> Option<&'p Part> {
    let Some((&n, rest)) = path.split_first() else {
        return Some(p);
    };
    match &p.kind {
        PartKind::Multipart(children) => in_part(
            children.get(usize::try_from(n).ok()?.checked_sub(1)?)?,
            rest,
        ),
        PartKind::Message(inner) => in_message(inner, path),
        // Dovecot (and Cyrus) let part 1 of a single body be that body.
        PartKind::Leaf if n == 1 => in_part(p, rest),
        PartKind::Leaf => None,
    }
}

/// The bytes of `section` of the message whose tree is `root`, or `None`
/// when the section does not exist (the caller answers with an empty
/// string, as Dovecot and Cyrus do).
pub fn extract(msg: &[u8], root: &Part, section: &Section) -> Option<Vec<u8>> {
    let target = if section.part.is_empty() {
        root
    } else {
        in_message(root, &section.part)?
    };
    // The message that HEADER/TEXT refer to.
    let message = || -> Option<&Part> {
        if section.part.is_empty() {
            Some(root)
        } else if let PartKind::Message(inner) = &target.kind {
            Some(inner)
        } else {
            None
        }
    };
    let range = match &section.text {
        None if section.part.is_empty() => root.range(),
        None => target.body.clone(),
        Some(SectionText::Mime) => target.header.clone(),
        Some(SectionText::Header) => message()?.header.clone(),
        Some(SectionText::Text) => message()?.body.clone(),
        Some(SectionText::HeaderFields(names)) => {
            return Some(header_fields(msg, message()?, names, true))
        }
        Some(SectionText::HeaderFieldsNot(names)) => {
            return Some(header_fields(msg, message()?, names, false))
        }
    };
    Some(msg[range].to_vec())
}

fn header_fields(msg: &[u8], part: &Part, names: &[String], keep: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for f in &part.fields {
        let name = &msg[f.name.clone()];
        let listed = names
            .iter()
            .any(|n| n.as_bytes().eq_ignore_ascii_case(name));
        if listed == keep {
            let raw = &msg[f.raw.clone()];
            out.extend_from_slice(raw);
            if !raw.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Applies `<origin.count>`: the bytes from `origin`, at most `count` of
/// them; empty when `origin` is past the end.
pub fn partial(data: &[u8], partial: Option<Partial>) -> &[u8] {
    match partial {
        None => data,
        Some(p) => {
            let start = (p.origin as usize).min(data.len());
            let end = start.saturating_add(p.count as usize).min(data.len());
            &data[start..end]
        }
    }
}

/// The header block of the message (used for RFC822.HEADER).
pub fn header_block(msg: &[u8]) -> &[u8] {
    let (end, _) = header::split_header(msg, 0..msg.len());
    &msg[..end]
}

/// The body of the message (used for RFC822.TEXT).
pub fn text_block(msg: &[u8]) -> &[u8] {
    let (_, start) = header::split_header(msg, 0..msg.len());
    &msg[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mime::part::parse;

    const MSG: &[u8] = b"From: a@b\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nX-A: 1\r\n\r\ninner body\r\n--x--\r\n";

    fn get(spec: Section) -> Option<Vec<u8>> {
        extract(MSG, &parse(MSG), &spec)
    }

    fn sec(part: &[u32], text: Option<SectionText>) -> Section {
        Section {
            part: part.to_vec(),
            text,
        }
    }

    #[test]
    fn sections() {
        assert_eq!(get(Section::default()).unwrap(), MSG);
        let header = get(sec(&[], Some(SectionText::Header))).unwrap();
        assert!(header.starts_with(b"From: a@b\r\n") && header.ends_with(b"boundary=x\r\n\r\n"));
        assert!(get(sec(&[], Some(SectionText::Text)))
            .unwrap()
            .starts_with(b"--x\r\n"));
        assert_eq!(get(sec(&[1], None)).unwrap(), b"hello");
        assert_eq!(
            get(sec(&[1], Some(SectionText::Mime))).unwrap(),
            b"Content-Type: text/plain\r\n\r\n"
        );
        assert_eq!(
            get(sec(&[2], None)).unwrap(),
            b"Subject: inner\r\nX-A: 1\r\n\r\ninner body"
        );
        assert_eq!(
            get(sec(&[2], Some(SectionText::Header))).unwrap(),
            b"Subject: inner\r\nX-A: 1\r\n\r\n"
        );
        assert_eq!(
            get(sec(&[2], Some(SectionText::Text))).unwrap(),
            b"inner body"
        );
        assert_eq!(get(sec(&[2, 1], None)).unwrap(), b"inner body");
        assert_eq!(
            get(sec(
                &[2],
                Some(SectionText::HeaderFields(vec!["x-a".into()]))
            ))
            .unwrap(),
            b"X-A: 1\r\n\r\n"
        );
        assert_eq!(
            get(sec(
                &[],
                Some(SectionText::HeaderFieldsNot(vec![
                    "FROM".into(),
                    "content-type".into()
                ]))
            ))
            .unwrap(),
            b"Subject: s\r\n\r\n"
        );
        assert_eq!(get(sec(&[3], None)), None);
        assert_eq!(get(sec(&[1], Some(SectionText::Header))), None);
        assert_eq!(get(sec(&[0], None)), None);
        assert_eq!(get(sec(&[u32::MAX], None)), None);
    }

    #[test]
    fn partials() {
        let data = b"0123456789";
        assert_eq!(partial(data, None), data);
        assert_eq!(
            partial(
                data,
                Some(Partial {
                    origin: 0,
                    count: 4
                })
            ),
            b"0123"
        );
        assert_eq!(
            partial(
                data,
                Some(Partial {
                    origin: 8,
                    count: 100
                })
            ),
            b"89"
        );
        assert_eq!(
            partial(
                data,
                Some(Partial {
                    origin: 50,
                    count: 1
                })
            ),
            b""
        );
        assert_eq!(
            partial(
                data,
                Some(Partial {
                    origin: u32::MAX,
                    count: u32::MAX
                })
            ),
            b""
        );
        assert_eq!(header_block(MSG).len() + text_block(MSG).len(), MSG.len());
    }
}
