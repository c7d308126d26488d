//! FETCH (RFC 3501 §6.4.5) with BINARY (RFC 3516) and the RFC 7162
//! CHANGEDSINCE / VANISHED modifiers.

use super::cursor::Cursor;
use super::sequence::sequence_set;
use super::{PResult, ParseErrorKind as K};
use crate::imap::protocol::{Command, FetchAttr, Partial, Section, SectionText};

/// Most attributes, header names or part levels in one FETCH.
const MAX_ITEMS: usize = 256;

pub(crate) fn fetch(c: &mut Cursor<'_>, uid: bool) -> PResult<Command> {
    c.sp()?;
    let set = sequence_set(c)?;
    c.sp()?;
    let attrs = if c.peek() == Some(b'(') {
        let attrs = c.paren_list(false, attr)?;
        if attrs.len() > MAX_ITEMS {
            return Err(K::Expected("fewer fetch items"));
        }
        attrs
    } else if c.keyword("ALL") {
        vec![
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
            FetchAttr::Envelope,
        ]
    } else if c.keyword("FAST") {
        vec![
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
        ]
    } else if c.keyword("FULL") {
        vec![
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
            FetchAttr::Envelope,
            FetchAttr::Body,
        ]
    } else {
        vec![attr(c)?]
    };
    let mut changed_since = None;
    let mut vanished = false;
    if c.eat(b' ') {
        let mods = c.paren_list(false, |c| {
            let name = c.atom_upper()?;
            match name.as_str() {
                "CHANGEDSINCE" => {
                    c.sp()?;
                    Ok(Some(c.number64()?))
                }
                "VANISHED" => Ok(None),
                _ => Err(K::UnknownOption(name)),
            }
        })?;
        for m in mods {
            match m {
                Some(n) => changed_since = Some(n),
                None => vanished = true,
            }
        }
        // RFC 7162 §3.2.6: VANISHED needs UID FETCH and CHANGEDSINCE.
        if vanished && (!uid || changed_since.is_none()) {
            return Err(K::Expected("VANISHED only with UID FETCH and CHANGEDSINCE"));
        }
    }
    Ok(Command::Fetch {
        uid,
        set,
        attrs,
        changed_since,
        vanished,
    })
}

fn attr(c: &mut Cursor<'_>) -> PResult<FetchAttr> {
    let name = c.take_while(|b| b.is_ascii_alphanumeric() || b == b'.');
    let name = String::from_utf8_lossy(name).to_ascii_uppercase();
    let has_section = c.peek() == Some(b'[');
    Ok(match (name.as_str(), has_section) {
        ("ENVELOPE", false) => FetchAttr::Envelope,
        ("FLAGS", false) => FetchAttr::Flags,
        ("INTERNALDATE", false) => FetchAttr::InternalDate,
        ("RFC822", false) => FetchAttr::Rfc822,
        ("RFC822.HEADER", false) => FetchAttr::Rfc822Header,
        ("RFC822.SIZE", false) => FetchAttr::Rfc822Size,
        ("RFC822.TEXT", false) => FetchAttr::Rfc822Text,
        ("BODY", false) => FetchAttr::Body,
        ("BODYSTRUCTURE", false) => FetchAttr::BodyStructure,
        ("UID", false) => FetchAttr::Uid,
        ("MODSEQ", false) => FetchAttr::ModSeq,
        ("BODY" | "BODY.PEEK", true) => {
            let section = section(c)?;
            let partial = partial(c)?;
            FetchAttr::BodySection {
                peek: name == "BODY.PEEK",
                section,
                partial,
            }
        }
        ("BINARY" | "BINARY.PEEK", true) => {
            let part = binary_section(c)?;
            let partial = partial(c)?;
            FetchAttr::Binary {
                peek: name == "BINARY.PEEK",
                part,
                partial,
            }
        }
        ("BINARY.SIZE", true) => FetchAttr::BinarySize {
            part: binary_section(c)?,
        },
        _ => return Err(K::UnknownOption(name)),
    })
}

fn part_numbers(c: &mut Cursor<'_>, out: &mut Vec<u32>) -> PResult<()> {
    loop {
        out.push(c.nz_number()?);
        if out.len() > MAX_ITEMS {
            return Err(K::Expected("shorter section part"));
        }
        if c.peek() != Some(b'.') {
            return Ok(());
        }
        c.eat(b'.');
        if !c.peek().is_some_and(|b| b.is_ascii_digit()) {
            // A text selector follows the dot.
            return Ok(());
        }
    }
}

fn section(c: &mut Cursor<'_>) -> PResult<Section> {
    c.expect(b'[', "[")?;
    let mut s = Section::default();
    if c.eat(b']') {
        return Ok(s);
    }
    let mut need_text = true;
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        part_numbers(c, &mut s.part)?;
        // part_numbers consumed a trailing '.' only when text follows.
        need_text = c.peek() != Some(b']');
    }
    if need_text {
        let word = c.take_while(|b| b.is_ascii_alphabetic() || b == b'.');
        let word = String::from_utf8_lossy(word).to_ascii_uppercase();
        s.text = Some(match word.as_str() {
            "HEADER" => SectionText::Header,
            "TEXT" => SectionText::Text,
            "MIME" if !s.part.is_empty() => SectionText::Mime,
            "HEADER.FIELDS" | "HEADER.FIELDS.NOT" => {
                c.sp()?;
                let names = c.paren_list(false, |c| {
                    String::from_utf8(c.astring()?).map_err(|_| K::BadUtf8)
                })?;
                if names.len() > MAX_ITEMS {
                    return Err(K::Expected("fewer header names"));
                }
                if word == "HEADER.FIELDS" {
                    SectionText::HeaderFields(names)
                } else {
                    SectionText::HeaderFieldsNot(names)
                }
            }
            _ => return Err(K::Expected("section text")),
        });
    }
    c.expect(b']', "]")?;
    Ok(s)
}

fn binary_section(c: &mut Cursor<'_>) -> PResult<Vec<u32>> {
    c.expect(b'[', "[")?;
    let mut part = Vec::new();
    if !c.eat(b']') {
        loop {
            part.push(c.nz_number()?);
            if part.len() > MAX_ITEMS {
                return Err(K::Expected("shorter section part"));
            }
            if !c.eat(b'.') {
                break;
            }
        }
        c.expect(b']', "]")?;
    }
    Ok(part)
}

fn partial(c: &mut Cursor<'_>) -> PResult<Option<Partial>> {
    if !c.eat(b'<') {
        return Ok(None);
    }
    let origin = c.number()?;
    c.expect(b'.', ".")?;
    let count = c.nz_number()?;
    c.expect(b'>', ">")?;
    Ok(Some(Partial { origin, count }))
}
