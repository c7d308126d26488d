//! LOGIN, AUTHENTICATE (SASL-IR), ENABLE and ID.

use base64::Engine;

use super::cursor::Cursor;
use super::{PResult, ParseErrorKind as K};
use crate::imap::protocol::Command;

/// RFC 2971 §3.3: at most 30 pairs, names ≤ 30 octets, values ≤ 1024.
const ID_MAX_PAIRS: usize = 30;
const ID_MAX_NAME: usize = 30;
const ID_MAX_VALUE: usize = 1024;

pub(crate) fn login(c: &mut Cursor<'_>) -> PResult<Command> {
    c.sp()?;
    let username = c.astring()?;
    c.sp()?;
    let password = c.astring()?;
    Ok(Command::Login { username, password })
}

pub(crate) fn authenticate(c: &mut Cursor<'_>) -> PResult<Command> {
    c.sp()?;
    let mechanism = c.atom_upper()?;
    let initial_response = if c.eat(b' ') {
        if c.eat(b'=') {
            Some(Vec::new())
        } else {
            let b64 =
                c.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
            Some(decode_base64(b64)?)
        }
    } else {
        None
    };
    Ok(Command::Authenticate {
        mechanism,
        initial_response,
    })
}

/// Decodes a SASL base64 response; empty input is an error (use `=`).
pub(crate) fn decode_base64(b64: &[u8]) -> PResult<Vec<u8>> {
    if b64.is_empty() {
        return Err(K::BadBase64);
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| K::BadBase64)
}

pub(crate) fn enable(c: &mut Cursor<'_>) -> PResult<Command> {
    let mut caps = Vec::new();
    while c.eat(b' ') {
        caps.push(c.atom_upper()?);
        if caps.len() > 64 {
            return Err(K::Expected("fewer capabilities"));
        }
    }
    if caps.is_empty() {
        return Err(K::Expected("capability"));
    }
    Ok(Command::Enable(caps))
}

fn text(bytes: Vec<u8>) -> PResult<String> {
    String::from_utf8(bytes).map_err(|_| K::BadUtf8)
}

pub(crate) fn id(c: &mut Cursor<'_>) -> PResult<Command> {
    c.sp()?;
    if c.keyword("NIL") {
        return Ok(Command::Id(None));
    }
    let mut pairs = Vec::new();
    c.expect(b'(', "( or NIL")?;
    if c.eat(b')') {
        // Not allowed by RFC 2971's ABNF but sent by some clients.
        return Ok(Command::Id(Some(pairs)));
    }
    loop {
        let name = c.string()?;
        c.sp()?;
        let value = c.nstring()?;
        if name.len() > ID_MAX_NAME
            || value.as_ref().is_some_and(|v| v.len() > ID_MAX_VALUE)
            || pairs.len() >= ID_MAX_PAIRS
        {
            return Err(K::IdTooLong);
        }
        pairs.push((text(name)?, value.map(text).transpose()?));
        if c.eat(b')') {
            return Ok(Command::Id(Some(pairs)));
        }
        c.sp()?;
    }
}
