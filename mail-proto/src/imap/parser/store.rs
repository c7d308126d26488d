//! STORE, COPY, MOVE and flag lists.

use super::cursor::Cursor;
use super::mailbox::mailbox;
use super::sequence::sequence_set;
use super::{PResult, ParseErrorKind as K};
use crate::imap::protocol::{Command, Flag, StoreOp};

/// Most flags in one list.
const MAX_FLAGS: usize = 256;

/// `flag`: `\Name` or a keyword atom.
pub(crate) fn flag(c: &mut Cursor<'_>) -> PResult<Flag> {
    let backslash = c.eat(b'\\');
    let name = c.atom().map_err(|_| K::Expected("flag"))?;
    let name = std::str::from_utf8(name).map_err(|_| K::BadUtf8)?;
    Ok(if backslash {
        Flag::parse(&format!("\\{name}"))
    } else {
        Flag::Keyword(name.to_string())
    })
}

/// `flag-list`: `(` [flag *(SP flag)] `)`.
pub(crate) fn flag_list(c: &mut Cursor<'_>) -> PResult<Vec<Flag>> {
    let flags = c.paren_list(true, flag)?;
    if flags.len() > MAX_FLAGS {
        return Err(K::Expected("fewer flags"));
    }
    Ok(flags)
}

pub(crate) fn store(c: &mut Cursor<'_>, uid: bool) -> PResult<Command> {
    c.sp()?;
    let set = sequence_set(c)?;
    c.sp()?;
    let mut unchanged_since = None;
    if c.peek() == Some(b'(') {
        let mods = c.paren_list(false, |c| {
            let name = c.atom_upper()?;
            if name != "UNCHANGEDSINCE" {
                return Err(K::UnknownOption(name));
            }
            c.sp()?;
            c.number64()
        })?;
        unchanged_since = mods.last().copied();
        c.sp()?;
    }
    let op = if c.eat(b'+') {
        StoreOp::Add
    } else if c.eat(b'-') {
        StoreOp::Remove
    } else {
        StoreOp::Replace
    };
    let silent = if c.keyword("FLAGS") {
        false
    } else if c.keyword("FLAGS.SILENT") {
        true
    } else {
        return Err(K::Expected("FLAGS or FLAGS.SILENT"));
    };
    c.sp()?;
    let flags = if c.peek() == Some(b'(') {
        flag_list(c)?
    } else {
        let mut flags = vec![flag(c)?];
        while c.eat(b' ') {
            flags.push(flag(c)?);
            if flags.len() > MAX_FLAGS {
                return Err(K::Expected("fewer flags"));
            }
        }
        flags
    };
    Ok(Command::Store {
        uid,
        set,
        unchanged_since,
        op,
        silent,
        flags,
    })
}

pub(crate) fn copy_move(c: &mut Cursor<'_>, uid: bool, is_move: bool) -> PResult<Command> {
    c.sp()?;
    let set = sequence_set(c)?;
    c.sp()?;
    let mailbox = mailbox(c)?;
    Ok(if is_move {
        Command::Move { uid, set, mailbox }
    } else {
        Command::Copy { uid, set, mailbox }
    })
}
