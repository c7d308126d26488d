//! APPEND and the `date` / `date-time` syntax it shares with SEARCH.

use super::cursor::Cursor;
use super::mailbox::mailbox;
use super::store::flag_list;
use super::{PResult, ParseErrorKind as K};
use crate::imap::protocol::{Command, ImapDate, ImapDateTime};

pub(crate) fn append(c: &mut Cursor<'_>) -> PResult<Command> {
    c.sp()?;
    let mailbox = mailbox(c)?;
    c.sp()?;
    let mut flags = Vec::new();
    if c.peek() == Some(b'(') {
        flags = flag_list(c)?;
        c.sp()?;
    }
    let mut date = None;
    if c.peek() == Some(b'"') {
        date = Some(date_time(c)?);
        c.sp()?;
    }
    // literal8 (`~{n}`, RFC 3516) is accepted: APPEND stores bytes as given.
    let message = c.literal(true)?.to_vec();
    Ok(Command::Append {
        mailbox,
        flags,
        date,
        message,
    })
}

fn digits(c: &mut Cursor<'_>, n: usize) -> PResult<u16> {
    let mut v: u16 = 0;
    for _ in 0..n {
        match c.peek() {
            Some(d @ b'0'..=b'9') => {
                v = v * 10 + u16::from(d - b'0');
                c.eat(d);
            }
            _ => return Err(K::BadDate),
        }
    }
    Ok(v)
}

fn month(c: &mut Cursor<'_>) -> PResult<u8> {
    let name = c.take_while(|b| b.is_ascii_alphabetic());
    crate::imap::protocol::message_months()
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(name))
        .map(|i| i as u8 + 1)
        .ok_or(K::BadDate)
}

/// `date-text` as in SEARCH: `d-Mon-yyyy`, optionally quoted.
pub(crate) fn date(c: &mut Cursor<'_>) -> PResult<ImapDate> {
    let quoted = c.eat(b'"');
    let day_digits = c.take_while(|b| b.is_ascii_digit());
    if day_digits.is_empty() || day_digits.len() > 2 {
        return Err(K::BadDate);
    }
    let day = day_digits.iter().fold(0u8, |a, d| a * 10 + (d - b'0'));
    c.expect(b'-', "-").map_err(|_| K::BadDate)?;
    let month = month(c)?;
    c.expect(b'-', "-").map_err(|_| K::BadDate)?;
    let year = digits(c, 4)?;
    if quoted {
        c.expect(b'"', "closing quote")?;
    }
    ImapDate::new(year, month, day).ok_or(K::BadDate)
}

/// `date-time`: `"dd-Mon-yyyy hh:mm:ss +zzzz"`, day space-padded or not.
pub(crate) fn date_time(c: &mut Cursor<'_>) -> PResult<ImapDateTime> {
    c.expect(b'"', "date-time")?;
    c.eat(b' ');
    let day_digits = c.take_while(|b| b.is_ascii_digit());
    if day_digits.is_empty() || day_digits.len() > 2 {
        return Err(K::BadDate);
    }
    let day = day_digits.iter().fold(0u8, |a, d| a * 10 + (d - b'0'));
    c.expect(b'-', "-").map_err(|_| K::BadDate)?;
    let month = month(c)?;
    c.expect(b'-', "-").map_err(|_| K::BadDate)?;
    let year = digits(c, 4)?;
    c.sp().map_err(|_| K::BadDate)?;
    let hour = digits(c, 2)?;
    c.expect(b':', ":").map_err(|_| K::BadDate)?;
    let minute = digits(c, 2)?;
    c.expect(b':', ":").map_err(|_| K::BadDate)?;
    let second = digits(c, 2)?;
    c.sp().map_err(|_| K::BadDate)?;
    let negative = match c.peek() {
        Some(b'+') => false,
        Some(b'-') => true,
        _ => return Err(K::BadDate),
    };
    c.eat(if negative { b'-' } else { b'+' });
    let zh = digits(c, 2)?;
    let zm = digits(c, 2)?;
    c.expect(b'"', "closing quote")?;
    if hour > 23 || minute > 59 || second > 60 || zh > 23 || zm > 59 {
        return Err(K::BadDate);
    }
    let date = ImapDate::new(year, month, day).ok_or(K::BadDate)?;
    let off = (zh * 60 + zm) as i16;
    Ok(ImapDateTime {
        date,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        offset_minutes: if negative { -off } else { off },
    })
}
