//! SELECT/EXAMINE, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, LIST, LSUB, STATUS.

use super::cursor::Cursor;
use super::sequence::sequence_set;
use super::{PResult, ParseErrorKind as K};
use crate::imap::protocol::{Command, ListArgs, Mailbox, QResync, SelectParams, StatusItem};
use crate::imap::utf7;

pub(crate) fn mailbox(c: &mut Cursor<'_>) -> PResult<Mailbox> {
    let raw = c.astring()?;
    Ok(Mailbox::from_wire(&raw)?)
}

fn sp_mailbox(c: &mut Cursor<'_>) -> PResult<Mailbox> {
    c.sp()?;
    mailbox(c)
}

pub(crate) fn select(c: &mut Cursor<'_>, examine: bool) -> PResult<Command> {
    let mailbox = sp_mailbox(c)?;
    let mut params = SelectParams::default();
    if c.eat(b' ') {
        let items = c.paren_list(false, |c| {
            let name = c.atom_upper()?;
            match name.as_str() {
                "CONDSTORE" => Ok(None),
                "QRESYNC" => {
                    c.sp()?;
                    qresync(c).map(Some)
                }
                _ => Err(K::UnknownOption(name)),
            }
        })?;
        for item in items {
            match item {
                None => params.condstore = true,
                Some(q) => params.qresync = Some(q),
            }
        }
    }
    Ok(if examine {
        Command::Examine { mailbox, params }
    } else {
        Command::Select { mailbox, params }
    })
}

fn qresync(c: &mut Cursor<'_>) -> PResult<QResync> {
    c.expect(b'(', "(")?;
    let uid_validity = c.nz_number()?;
    c.sp()?;
    let mod_seq = c.number64()?;
    let mut q = QResync {
        uid_validity,
        mod_seq,
        known_uids: None,
        seq_match: None,
    };
    if c.eat(b' ') {
        if c.peek() != Some(b'(') {
            q.known_uids = Some(sequence_set(c)?);
            if c.eat(b' ') {
                q.seq_match = Some(seq_match(c)?);
            }
        } else {
            q.seq_match = Some(seq_match(c)?);
        }
    }
    c.expect(b')', ")")?;
    Ok(q)
}

fn seq_match(
    c: &mut Cursor<'_>,
) -> PResult<(
    crate::imap::protocol::SequenceSet,
    crate::imap::protocol::SequenceSet,
)> {
    c.expect(b'(', "(")?;
    let seqs = sequence_set(c)?;
    c.sp()?;
    let uids = sequence_set(c)?;
    c.expect(b')', ")")?;
    Ok((seqs, uids))
}

pub(crate) fn create(c: &mut Cursor<'_>) -> PResult<Command> {
    Ok(Command::Create {
        mailbox: sp_mailbox(c)?,
    })
}

pub(crate) fn delete(c: &mut Cursor<'_>) -> PResult<Command> {
    Ok(Command::Delete {
        mailbox: sp_mailbox(c)?,
    })
}

pub(crate) fn rename(c: &mut Cursor<'_>) -> PResult<Command> {
    let from = sp_mailbox(c)?;
    let to = sp_mailbox(c)?;
    Ok(Command::Rename { from, to })
}

pub(crate) fn subscribe(c: &mut Cursor<'_>, on: bool) -> PResult<Command> {
    let mailbox = sp_mailbox(c)?;
    Ok(if on {
        Command::Subscribe { mailbox }
    } else {
        Command::Unsubscribe { mailbox }
    })
}

fn pattern(c: &mut Cursor<'_>) -> PResult<String> {
    Ok(utf7::decode(&c.list_mailbox()?)?)
}

pub(crate) fn list(c: &mut Cursor<'_>) -> PResult<Command> {
    let mut args = ListArgs::default();
    c.sp()?;
    if c.peek() == Some(b'(') {
        args.extended = true;
        let opts = c.paren_list(true, |c| c.atom_upper())?;
        for opt in opts {
            match opt.as_str() {
                "SUBSCRIBED" => args.selection.subscribed = true,
                "REMOTE" => args.selection.remote = true,
                "RECURSIVEMATCH" => args.selection.recursive_match = true,
                "SPECIAL-USE" => args.selection.special_use = true,
                _ => return Err(K::UnknownOption(opt)),
            }
        }
        // RFC 5258 §3: RECURSIVEMATCH alone is a BAD.
        if args.selection.recursive_match
            && !(args.selection.subscribed || args.selection.special_use)
        {
            return Err(K::Expected(
                "RECURSIVEMATCH together with another selection option",
            ));
        }
        c.sp()?;
    }
    args.reference = utf7::decode(&c.astring()?)?;
    c.sp()?;
    if c.peek() == Some(b'(') {
        args.extended = true;
        args.patterns = c.paren_list(false, pattern)?;
    } else {
        args.patterns = vec![pattern(c)?];
    }
    if c.eat(b' ') {
        if !c.keyword("RETURN") {
            return Err(K::Expected("RETURN"));
        }
        args.extended = true;
        c.sp()?;
        let mut status = None;
        let opts = c.paren_list(true, |c| {
            let opt = c.atom_upper()?;
            if opt == "STATUS" {
                c.sp()?;
                status = Some(status_items(c)?);
            }
            Ok(opt)
        })?;
        for opt in opts {
            match opt.as_str() {
                "SUBSCRIBED" => args.returns.subscribed = true,
                "CHILDREN" => args.returns.children = true,
                "SPECIAL-USE" => args.returns.special_use = true,
                "STATUS" => {}
                _ => return Err(K::UnknownOption(opt)),
            }
        }
        args.returns.status = status;
    }
    Ok(Command::List(args))
}

pub(crate) fn lsub(c: &mut Cursor<'_>) -> PResult<Command> {
    c.sp()?;
    let reference = utf7::decode(&c.astring()?)?;
    c.sp()?;
    let pattern = pattern(c)?;
    Ok(Command::Lsub { reference, pattern })
}

fn status_items(c: &mut Cursor<'_>) -> PResult<Vec<StatusItem>> {
    c.paren_list(false, |c| {
        let name = c.atom_upper()?;
        Ok(match name.as_str() {
            "MESSAGES" => StatusItem::Messages,
            "RECENT" => StatusItem::Recent,
            "UIDNEXT" => StatusItem::UidNext,
            "UIDVALIDITY" => StatusItem::UidValidity,
            "UNSEEN" => StatusItem::Unseen,
            "HIGHESTMODSEQ" => StatusItem::HighestModSeq,
            "SIZE" => StatusItem::Size,
            _ => return Err(K::UnknownOption(name)),
        })
    })
}

pub(crate) fn status(c: &mut Cursor<'_>) -> PResult<Command> {
    let mailbox = sp_mailbox(c)?;
    c.sp()?;
    let items = status_items(c)?;
    Ok(Command::Status { mailbox, items })
}
