//! SEARCH (RFC 3501 §6.4.4) with the RFC 7162 MODSEQ key.
//!
//! The grammar is recursive (`NOT`, `OR`, parenthesised lists); every level
//! counts against [`super::MAX_DEPTH`] so hostile input cannot exhaust the
//! stack.

use super::append::date;
use super::cursor::Cursor;
use super::sequence::{sequence_set, starts_sequence};
use super::store::flag;
use super::{PResult, ParseErrorKind as K, MAX_DEPTH};
use crate::imap::protocol::{Command, SearchKey};

/// Most keys in one list, to bound the work one command causes.
const MAX_KEYS: usize = 1000;

pub(crate) fn search(c: &mut Cursor<'_>, uid: bool) -> PResult<Command> {
    c.sp()?;
    let mut charset = None;
    if c.keyword("CHARSET") {
        c.sp()?;
        let cs = String::from_utf8_lossy(&c.astring()?).to_ascii_uppercase();
        if cs != "US-ASCII" && cs != "UTF-8" {
            return Err(K::BadCharset);
        }
        charset = Some(cs);
        c.sp()?;
    }
    let mut criteria = vec![key(c, 1)?];
    while c.eat(b' ') {
        criteria.push(key(c, 1)?);
        if criteria.len() > MAX_KEYS {
            return Err(K::Expected("fewer search keys"));
        }
    }
    Ok(Command::Search {
        uid,
        charset,
        criteria,
    })
}

fn text(c: &mut Cursor<'_>) -> PResult<String> {
    c.sp()?;
    String::from_utf8(c.astring()?).map_err(|_| K::BadUtf8)
}

fn key(c: &mut Cursor<'_>, depth: usize) -> PResult<SearchKey> {
    if depth > MAX_DEPTH {
        return Err(K::TooDeep);
    }
    if starts_sequence(c) {
        return Ok(SearchKey::Sequence(sequence_set(c)?));
    }
    if c.eat(b'(') {
        let mut keys = vec![key(c, depth + 1)?];
        while c.eat(b' ') {
            keys.push(key(c, depth + 1)?);
            if keys.len() > MAX_KEYS {
                return Err(K::Expected("fewer search keys"));
            }
        }
        c.expect(b')', ")")?;
        return Ok(SearchKey::And(keys));
    }
    let name = c.atom_upper().map_err(|_| K::Expected("search key"))?;
    let k = match name.as_str() {
        "ALL" => SearchKey::All,
        "ANSWERED" => SearchKey::Answered,
        "DELETED" => SearchKey::Deleted,
        "DRAFT" => SearchKey::Draft,
        "FLAGGED" => SearchKey::Flagged,
        "NEW" => SearchKey::New,
        "OLD" => SearchKey::Old,
        "RECENT" => SearchKey::Recent,
        "SEEN" => SearchKey::Seen,
        "UNANSWERED" => SearchKey::Unanswered,
        "UNDELETED" => SearchKey::Undeleted,
        "UNDRAFT" => SearchKey::Undraft,
        "UNFLAGGED" => SearchKey::Unflagged,
        "UNSEEN" => SearchKey::Unseen,
        "BCC" => SearchKey::Bcc(text(c)?),
        "BODY" => SearchKey::Body(text(c)?),
        "CC" => SearchKey::Cc(text(c)?),
        "FROM" => SearchKey::From(text(c)?),
        "SUBJECT" => SearchKey::Subject(text(c)?),
        "TEXT" => SearchKey::Text(text(c)?),
        "TO" => SearchKey::To(text(c)?),
        "HEADER" => {
            let field = text(c)?;
            SearchKey::Header(field, text(c)?)
        }
        "KEYWORD" | "UNKEYWORD" => {
            c.sp()?;
            let f = flag(c)?;
            if name == "KEYWORD" {
                SearchKey::Keyword(f)
            } else {
                SearchKey::Unkeyword(f)
            }
        }
        "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON" | "SENTSINCE" => {
            c.sp()?;
            let d = date(c)?;
            match name.as_str() {
                "BEFORE" => SearchKey::Before(d),
                "ON" => SearchKey::On(d),
                "SINCE" => SearchKey::Since(d),
                "SENTBEFORE" => SearchKey::SentBefore(d),
                "SENTON" => SearchKey::SentOn(d),
                _ => SearchKey::SentSince(d),
            }
        }
        "LARGER" => {
            c.sp()?;
            SearchKey::Larger(c.number()?)
        }
        "SMALLER" => {
            c.sp()?;
            SearchKey::Smaller(c.number()?)
        }
        "UID" => {
            c.sp()?;
            SearchKey::Uid(sequence_set(c)?)
        }
        "NOT" => {
            c.sp()?;
            SearchKey::Not(Box::new(key(c, depth + 1)?))
        }
        "OR" => {
            c.sp()?;
            let a = key(c, depth + 1)?;
            c.sp()?;
            let b = key(c, depth + 1)?;
            SearchKey::Or(Box::new(a), Box::new(b))
        }
        "MODSEQ" => {
            c.sp()?;
            if c.peek() == Some(b'"') {
                // entry-name: "/flags/\\Seen"; entry-type: priv/shared/all.
                c.quoted()?;
                c.sp()?;
                let kind = c.atom_upper()?;
                if !matches!(kind.as_str(), "PRIV" | "SHARED" | "ALL") {
                    return Err(K::UnknownOption(kind));
                }
                c.sp()?;
            }
            SearchKey::ModSeq(c.number64()?)
        }
        _ => return Err(K::UnknownOption(name)),
    };
    Ok(k)
}
