//! `sequence-set` (RFC 3501 §9).

use super::cursor::Cursor;
use super::{PResult, ParseErrorKind as K};
use crate::imap::protocol::{SeqNum, SeqRange, SequenceSet};

/// Most ranges accepted in one set, to bound the work a set can cause.
const MAX_RANGES: usize = 10_000;

fn seq_number(c: &mut Cursor<'_>) -> PResult<SeqNum> {
    if c.eat(b'*') {
        Ok(SeqNum::Star)
    } else {
        Ok(SeqNum::Value(c.nz_number()?))
    }
}

pub(crate) fn sequence_set(c: &mut Cursor<'_>) -> PResult<SequenceSet> {
    let mut ranges = Vec::new();
    loop {
        let start = seq_number(c)?;
        let end = if c.eat(b':') { seq_number(c)? } else { start };
        ranges.push(SeqRange { start, end });
        if ranges.len() > MAX_RANGES {
            return Err(K::Expected("shorter sequence set"));
        }
        if !c.eat(b',') {
            return Ok(SequenceSet(ranges));
        }
    }
}

/// Whether the next byte can start a sequence set (SEARCH needs to know).
pub(crate) fn starts_sequence(c: &Cursor<'_>) -> bool {
    matches!(c.peek(), Some(b'0'..=b'9' | b'*'))
}
