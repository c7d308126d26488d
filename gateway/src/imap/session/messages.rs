//! Commands that change messages: STORE, COPY, MOVE (RFC 6851), EXPUNGE,
//! UID EXPUNGE (RFC 4315), CLOSE/UNSELECT and APPEND. Each is one bulk
//! store call whatever the number of messages.
//!
//! KC semantics: deleting only sets `\Deleted`; messages go away at
//! EXPUNGE (or CLOSE), as soft deletes in the store.

use kc_store_api::client::FlagOp;

use super::selected::{normalize_flags, unsolicited_items};
use super::{no, CmdResult, Done, Fail, Session};
use crate::imap::protocol::{Flag, ImapDateTime, Mailbox, SequenceSet, StoreOp};
use crate::imap::response::{Data, FetchItem, ResponseCode, Status, StatusResponse};

fn flag_strings(flags: &[Flag]) -> Vec<String> {
    normalize_flags(
        flags
            .iter()
            .filter(|f| **f != Flag::Recent)
            .map(ToString::to_string),
    )
}

impl Session {
    fn writable(&self) -> Result<(i64, u32), Fail> {
        match &self.selected {
            Some(s) if s.read_only => Err(no(Some(ResponseCode::ReadOnly), "Mailbox is read-only")),
            Some(s) => Ok((s.folder, s.uid_validity)),
            None => Err(Fail::Bad("no mailbox selected".into())),
        }
    }

    pub(super) async fn store(
        &mut self,
        uid: bool,
        set: SequenceSet,
        unchanged_since: Option<u64>,
        op: StoreOp,
        silent: bool,
        flags: Vec<Flag>,
    ) -> CmdResult {
        self.require_selected()?;
        let (folder, _) = self.writable()?;
        if unchanged_since.is_some() {
            self.condstore = true;
        }
        let condstore = self.condstore;
        let flags = flag_strings(&flags);
        let (targets, modified) = {
            let Some(sel) = self.selected.as_ref() else {
                return Err(Fail::Bad("no mailbox selected".into()));
            };
            let idx = sel.resolve(&set, uid).map_err(|e| Fail::Bad(e.into()))?;
            let mut ok = Vec::new();
            let mut modified = Vec::new();
            for i in idx {
                let m = &sel.msgs[i];
                match unchanged_since {
                    Some(n) if m.modseq.max(0) as u64 > n => {
                        modified.push(if uid { m.uid } else { i as u32 + 1 })
                    }
                    _ => ok.push(m.uid),
                }
            }
            (ok, modified)
        };
        let store_op = match op {
            StoreOp::Add => FlagOp::Add,
            StoreOp::Remove => FlagOp::Remove,
            StoreOp::Replace => FlagOp::Replace,
        };
        let changed = if targets.is_empty() {
            Vec::new()
        } else {
            self.store_session()?
                .set_flags(folder, &targets, store_op, &flags)
                .await?
        };
        // The store applied the change to its own state, which may hold
        // other sessions' changes: the targets' flags are read back rather
        // than computed from this session's cache.
        let store = self.store_session()?;
        let Some(sel) = self.selected.as_mut() else {
            return Err(Fail::Bad("no mailbox selected".into()));
        };
        if !targets.is_empty() {
            sel.reload(&store, &targets).await?;
        }
        let mut changed_uids = std::collections::HashSet::new();
        for (u, modseq) in changed {
            if let Some(i) = sel.index_of(u) {
                let m = &mut sel.msgs[i];
                m.modseq = m.modseq.max(modseq);
                sel.highest_modseq = sel.highest_modseq.max(modseq);
                changed_uids.insert(u);
            }
        }
        // A keyword new to the mailbox is announced before it is shown.
        sel.announce_new_keywords(&mut self.io.out);
        for u in &targets {
            let Some(i) = sel.index_of(*u) else { continue };
            let m = &sel.msgs[i];
            let items = if !silent {
                let mut items = unsolicited_items(m, condstore);
                if !uid {
                    items.remove(0);
                }
                items
            } else if condstore && changed_uids.contains(u) {
                // RFC 7162 §3.1.3: MODSEQ is reported even for .SILENT.
                let mut items = vec![FetchItem::ModSeq(m.modseq.max(0) as u64)];
                if uid {
                    items.insert(0, FetchItem::Uid(m.uid));
                }
                items
            } else {
                continue;
            };
            Data::Fetch {
                seq: i as u32 + 1,
                items,
            }
            .serialize(&mut self.io.out);
        }
        // KC `imap_expunge_on_delete`: a message flagged \Deleted goes at once.
        let deleted_now = self.cfg.expunge_on_delete
            && op != StoreOp::Remove
            && flags.iter().any(|f| f == "\\Deleted");
        if deleted_now && !targets.is_empty() {
            let gone = self
                .store_session()?
                .expunge(folder, Some(&targets))
                .await?;
            if let Some(sel) = self.selected.as_mut() {
                sel.expunge_uids(gone.into_iter(), &mut self.io.out);
            }
        }
        if modified.is_empty() {
            Ok(Done::ok())
        } else {
            Ok(Done {
                code: Some(ResponseCode::Modified(SequenceSet::from_numbers(&modified))),
                text: "Conditional STORE failed for some messages".into(),
            })
        }
    }

    pub(super) async fn copy(
        &mut self,
        uid: bool,
        set: SequenceSet,
        mailbox: Mailbox,
        is_move: bool,
    ) -> CmdResult {
        self.require_selected()?;
        let folder = if is_move {
            self.writable()?.0
        } else {
            self.selected.as_ref().map(|s| s.folder).unwrap_or_default()
        };
        let uids: Vec<u32> = {
            let Some(sel) = self.selected.as_ref() else {
                return Err(Fail::Bad("no mailbox selected".into()));
            };
            let idx = sel.resolve(&set, uid).map_err(|e| Fail::Bad(e.into()))?;
            idx.into_iter().map(|i| sel.msgs[i].uid).collect()
        };
        let Some(dest) = self.find(mailbox.as_str()).await? else {
            return Err(no(
                Some(ResponseCode::TryCreate),
                "Target mailbox does not exist",
            ));
        };
        if uids.is_empty() {
            return Ok(Done::ok());
        }
        let store = self.store_session()?;
        let pairs = if is_move && dest.id == folder {
            // RFC 6851 allows a MOVE into the same mailbox: the messages get
            // new UIDs (a copy) and the originals go.
            let pairs = store.copy(folder, &uids, dest.id).await?;
            let copied: Vec<u32> = pairs.iter().map(|p| p.0).collect();
            let gone = store.delete(folder, &copied).await?;
            pairs.into_iter().filter(|p| gone.contains(&p.0)).collect()
        } else if is_move {
            store.move_items(folder, &uids, dest.id).await?
        } else {
            store.copy(folder, &uids, dest.id).await?
        };
        let code = (!pairs.is_empty()).then(|| {
            let src: Vec<u32> = pairs.iter().map(|p| p.0).collect();
            let dst: Vec<u32> = pairs.iter().map(|p| p.1).collect();
            ResponseCode::CopyUid {
                uid_validity: dest.uid_validity,
                source: seq_in_order(&src),
                dest: seq_in_order(&dst),
            }
        });
        if dest.id == folder {
            self.force_refresh = true;
        }
        if !is_move {
            return Ok(Done {
                code,
                text: "COPY completed".into(),
            });
        }
        if let Some(code) = code {
            let mut r = StatusResponse::untagged(Status::Ok, "Moved");
            r.code = Some(code);
            r.serialize(&mut self.io.out);
        }
        let moved: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        if let Some(sel) = self.selected.as_mut() {
            sel.expunge_uids(moved.into_iter(), &mut self.io.out);
        }
        Ok(Done {
            code: None,
            text: "MOVE completed".into(),
        })
    }

    pub(super) async fn expunge(&mut self, set: Option<SequenceSet>) -> CmdResult {
        self.require_selected()?;
        let (folder, _) = self.writable()?;
        let uids: Option<Vec<u32>> = match (&set, self.selected.as_ref()) {
            (Some(set), Some(sel)) => Some(
                sel.resolve(set, true)
                    .map_err(|e| Fail::Bad(e.into()))?
                    .into_iter()
                    .map(|i| sel.msgs[i].uid)
                    .collect(),
            ),
            _ => None,
        };
        if uids.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Done::ok());
        }
        let gone = self
            .store_session()?
            .expunge(folder, uids.as_deref())
            .await?;
        if let Some(sel) = self.selected.as_mut() {
            sel.expunge_uids(gone.into_iter(), &mut self.io.out);
        }
        Ok(Done::ok())
    }

    /// CLOSE (`expunge`: remove \Deleted messages silently) or UNSELECT.
    pub(super) async fn close(&mut self, expunge: bool) -> CmdResult {
        self.require_selected()?;
        if expunge {
            if let Some(sel) = self.selected.as_ref().filter(|s| !s.read_only) {
                let folder = sel.folder;
                self.store_session()?.expunge(folder, None).await?;
            }
        }
        self.selected = None;
        self.cached = None;
        Ok(Done::ok())
    }

    pub(super) async fn append(
        &mut self,
        mailbox: Mailbox,
        flags: Vec<Flag>,
        date: Option<ImapDateTime>,
        message: Vec<u8>,
    ) -> CmdResult {
        self.require_auth()?;
        if message.len() as u64 > self.cfg.max_messagesize {
            return Err(no(Some(ResponseCode::TooBig), "Message too large"));
        }
        if message.is_empty() {
            return Err(no(None, "Empty message"));
        }
        let Some(dest) = self.find(mailbox.as_str()).await? else {
            return Err(no(Some(ResponseCode::TryCreate), "Mailbox does not exist"));
        };
        let flags = flag_strings(&flags);
        // Stored with CRLF line ends, so RFC822.SIZE from the listing and
        // the size of what FETCH sends agree.
        let message = match crate::mime::normalize_crlf(&message) {
            std::borrow::Cow::Borrowed(_) => message,
            std::borrow::Cow::Owned(fixed) => fixed,
        };
        let appended = self
            .store_session()?
            .append(dest.id, message.into(), &flags, date.map(|d| d.unix_time()))
            .await?;
        if self.selected.as_ref().is_some_and(|s| s.folder == dest.id) {
            self.force_refresh = true;
        }
        Ok(Done {
            code: Some(ResponseCode::AppendUid {
                uid_validity: dest.uid_validity,
                uids: SequenceSet::single(appended.uid),
            }),
            text: "APPEND completed".into(),
        })
    }
}

/// A set listing `uids` in the given order (COPYUID pairs positions, so it
/// must not be re-sorted), runs compressed.
fn seq_in_order(uids: &[u32]) -> SequenceSet {
    use crate::imap::protocol::{SeqNum, SeqRange};
    let mut out: Vec<SeqRange> = Vec::new();
    for &u in uids {
        if let Some(SeqRange {
            end: SeqNum::Value(e),
            ..
        }) = out.last_mut()
        {
            if e.checked_add(1) == Some(u) {
                *e = u;
                continue;
            }
        }
        out.push(SeqRange {
            start: SeqNum::Value(u),
            end: SeqNum::Value(u),
        });
    }
    SequenceSet(out)
}
