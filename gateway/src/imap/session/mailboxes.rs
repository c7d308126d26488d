//! Mailbox commands: SELECT/EXAMINE, LIST, LSUB, STATUS, CREATE, DELETE,
//! RENAME, SUBSCRIBE/UNSUBSCRIBE.

use std::collections::BTreeSet;

use super::folders::{canonical, full_pattern, list_matches, Entry, Tree, DELIM};
use super::selected::{unsolicited_items, Selected, PAGE};
use super::subscriptions::Subscriptions;
use super::{no, CmdResult, Done, Fail, Session};
use crate::imap::protocol::{
    ListArgs, Mailbox, SelectParams, SeqNum, SeqRange, SequenceSet, StatusItem,
};
use crate::imap::response::{Data, ResponseCode, Status};

/// Container class of folders created over IMAP.
const MAIL_CLASS: &str = "IPF.Note";
/// Longest LIST/LSUB pattern (matching costs pattern × name per mailbox).
const MAX_PATTERN: usize = 1024;

fn check_pattern(p: &str) -> Result<(), Fail> {
    if p.len() > MAX_PATTERN {
        return Err(Fail::Bad("mailbox pattern too long".into()));
    }
    Ok(())
}

/// Why LSUB lists a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    /// The name is subscribed.
    Subscribed,
    /// Only a subscribed name below it is, and the pattern stops at this
    /// level (RFC 3501 §6.3.9: `%` returns the parent as `\Noselect`).
    ParentOnly,
}

/// The names LSUB returns for `pattern`, sorted: the subscribed names that
/// match, and each unsubscribed ancestor of a subscribed name that the
/// pattern matches while the name itself does not.
fn lsub_names(subscribed: &BTreeSet<String>, pattern: &str) -> Vec<(String, Listed)> {
    let mut out = std::collections::BTreeMap::new();
    for n in subscribed {
        if list_matches(pattern, n) {
            out.insert(n.clone(), Listed::Subscribed);
            continue;
        }
        for (i, _) in n.match_indices(DELIM) {
            let parent = &n[..i];
            if !parent.is_empty() && !subscribed.contains(parent) && list_matches(pattern, parent) {
                out.entry(parent.to_string()).or_insert(Listed::ParentOnly);
            }
        }
    }
    out.into_iter().collect()
}

impl Session {
    /// The folder tree, re-read from the store when `fresh` or unknown.
    pub(super) async fn tree(&mut self, fresh: bool) -> Result<&Tree, Fail> {
        if fresh || self.tree.is_none() {
            let store = self.store_session()?;
            let folders = store.folders().await?;
            self.tree = Some(Tree::build(&folders, self.cfg.only_mailfolders));
        }
        self.tree
            .as_ref()
            .ok_or_else(|| Fail::Bad("no folder tree".into()))
    }

    /// Looks a mailbox up, re-reading the tree once on a miss unless it
    /// was just read (another client may have created it).
    pub(super) async fn find(&mut self, name: &str) -> Result<Option<Entry>, Fail> {
        let held = self.tree.is_some();
        if let Some(e) = self.tree(false).await?.find(name) {
            return Ok(Some(e.clone()));
        }
        if !held {
            return Ok(None);
        }
        Ok(self.tree(true).await?.find(name).cloned())
    }

    async fn subscriptions(&mut self) -> Result<&mut Subscriptions, Fail> {
        if self.subs.is_none() {
            let store = self.store_session()?;
            let mut s = Subscriptions::load(&store).await.map_err(|e| {
                tracing::warn!(error = %e, "cannot read subscriptions");
                no(Some(ResponseCode::ServerBug), "Cannot read subscriptions")
            })?;
            if s.fresh {
                let tree = self.tree(false).await?;
                s.names = tree.entries.iter().map(|e| e.name.clone()).collect();
            }
            self.subs = Some(s);
        }
        self.subs
            .as_mut()
            .ok_or_else(|| Fail::Bad("no subscriptions".into()))
    }

    pub(super) async fn select(
        &mut self,
        mailbox: Mailbox,
        params: SelectParams,
        read_only: bool,
    ) -> CmdResult {
        self.require_auth()?;
        if self.selected.take().is_some() && self.condstore {
            self.untagged(
                Status::Ok,
                Some(ResponseCode::Closed),
                "Previous mailbox closed",
            );
        }
        if params.qresync.is_some() && !self.qresync {
            return Err(Fail::Bad(
                "QRESYNC must be enabled first (ENABLE QRESYNC)".into(),
            ));
        }
        if params.condstore {
            self.condstore = true;
        }
        let Some(entry) = self.find(mailbox.as_str()).await? else {
            return Err(no(
                Some(ResponseCode::NonExistent),
                "Mailbox does not exist",
            ));
        };
        let store = self.store_session()?;
        let mut sel = Selected::open(
            &store,
            entry.id,
            Mailbox::new(entry.name.clone()),
            read_only,
        )
        .await?;
        sel.vanished = self.qresync;
        sel.claim_recent(&store).await;
        let out = &mut self.io.out;
        sel.write_flags(out);
        Data::Exists(sel.exists()).serialize(out);
        Data::Recent(sel.recent_count()).serialize(out);
        if let Some(i) = sel.msgs.iter().position(|m| !m.has("\\Seen")) {
            let mut r = crate::imap::response::StatusResponse::untagged(Status::Ok, "First unseen");
            r.code = Some(ResponseCode::Unseen(i as u32 + 1));
            r.serialize(out);
        }
        for (code, text) in [
            (ResponseCode::UidValidity(sel.uid_validity), "UIDs valid"),
            (ResponseCode::UidNext(sel.uid_next), "Predicted next UID"),
            (
                ResponseCode::HighestModSeq(sel.highest_modseq.max(1) as u64),
                "Highest",
            ),
        ] {
            let mut r = crate::imap::response::StatusResponse::untagged(Status::Ok, text);
            r.code = Some(code);
            r.serialize(out);
        }
        if let Some(q) = params
            .qresync
            .filter(|q| q.uid_validity == sel.uid_validity)
        {
            // RFC 7162 §3.2.5: what changed since the client's last state.
            let known = q.known_uids.unwrap_or_else(|| {
                SequenceSet(vec![SeqRange {
                    start: SeqNum::Value(1),
                    end: SeqNum::Star,
                }])
            });
            if let Some(uids) = sel.missing(&known) {
                Data::Vanished {
                    earlier: true,
                    uids,
                }
                .serialize(out);
            }
            for (i, m) in sel.msgs.iter().enumerate() {
                if m.modseq.max(0) as u64 > q.mod_seq {
                    Data::Fetch {
                        seq: i as u32 + 1,
                        items: unsolicited_items(m, true),
                    }
                    .serialize(out);
                }
            }
        }
        self.selected = Some(sel);
        self.cached = None;
        self.ensure_watch();
        Ok(Done {
            code: Some(if read_only {
                ResponseCode::ReadOnly
            } else {
                ResponseCode::ReadWrite
            }),
            text: if read_only {
                "EXAMINE completed".into()
            } else {
                "SELECT completed".into()
            },
        })
    }

    pub(super) async fn list(&mut self, args: ListArgs) -> CmdResult {
        self.require_auth()?;
        check_pattern(&args.reference)?;
        for p in &args.patterns {
            check_pattern(p)?;
        }
        let patterns: Vec<String> = args
            .patterns
            .iter()
            .map(|p| full_pattern(&args.reference, p))
            .collect();
        if !args.extended && args.patterns.len() == 1 && args.patterns[0].is_empty() {
            // `LIST "" ""`: the hierarchy delimiter and root.
            Data::List {
                lsub: false,
                attributes: vec!["\\Noselect".into()],
                delimiter: Some(DELIM),
                mailbox: Mailbox::new(String::new()),
            }
            .serialize(&mut self.io.out);
            return Ok(Done::ok());
        }
        let want_subs = args.selection.subscribed || args.returns.subscribed;
        let subs: BTreeSet<String> = if want_subs {
            self.subscriptions().await?.names.clone()
        } else {
            BTreeSet::new()
        };
        let entries = self.tree(true).await?.entries.clone();
        let mut listed = Vec::new();
        for e in &entries {
            if !patterns.iter().any(|p| list_matches(p, &e.name)) {
                continue;
            }
            let subscribed = subs.contains(&e.name);
            if args.selection.subscribed && !subscribed {
                continue;
            }
            let special = e.special_use();
            if args.selection.special_use && special.is_none() {
                continue;
            }
            let mut attrs = vec![if e.has_children {
                "\\HasChildren".to_string()
            } else {
                "\\HasNoChildren".to_string()
            }];
            if let Some(s) = special {
                attrs.push(s.to_string());
            }
            if want_subs && subscribed {
                attrs.push("\\Subscribed".into());
            }
            Data::List {
                lsub: false,
                attributes: attrs,
                delimiter: Some(DELIM),
                mailbox: Mailbox::new(e.name.clone()),
            }
            .serialize(&mut self.io.out);
            listed.push(e.clone());
        }
        if let Some(items) = args.returns.status {
            for e in listed {
                // A mailbox that vanished meanwhile is just left out.
                if let Ok(values) = self.status_values(&e, &items).await {
                    Data::Status {
                        mailbox: Mailbox::new(e.name.clone()),
                        items: values,
                    }
                    .serialize(&mut self.io.out);
                }
                self.io
                    .flush_if_big()
                    .await
                    .map_err(|_| Fail::Bad("write failed".into()))?;
            }
        }
        Ok(Done::ok())
    }

    pub(super) async fn lsub(&mut self, reference: &str, pattern: &str) -> CmdResult {
        self.require_auth()?;
        check_pattern(reference)?;
        check_pattern(pattern)?;
        let pat = full_pattern(reference, pattern);
        let names = self.subscriptions().await?.names.clone();
        let tree = self.tree(true).await?.clone();
        for (n, listed) in lsub_names(&names, &pat) {
            let attrs = match (listed, tree.find(&n)) {
                (Listed::Subscribed, Some(e)) => vec![if e.has_children {
                    "\\HasChildren".to_string()
                } else {
                    "\\HasNoChildren".to_string()
                }],
                _ => vec!["\\Noselect".to_string()],
            };
            Data::List {
                lsub: true,
                attributes: attrs,
                delimiter: Some(DELIM),
                mailbox: Mailbox::new(n),
            }
            .serialize(&mut self.io.out);
        }
        Ok(Done::ok())
    }

    async fn status_values(
        &mut self,
        e: &Entry,
        items: &[StatusItem],
    ) -> Result<Vec<(StatusItem, u64)>, Fail> {
        let store = self.store_session()?;
        let info = store.folder(e.id).await?;
        let need_list = items.iter().any(|i| {
            matches!(
                i,
                StatusItem::Unseen | StatusItem::Size | StatusItem::Recent
            )
        });
        // Recent: the messages no session has claimed yet.
        let claimed = if items.contains(&StatusItem::Recent) {
            super::recent::watermark(&store, e.id).await?
        } else {
            u32::MAX
        };
        let (mut unseen, mut size, mut recent) = (0u64, 0u64, 0u64);
        if need_list {
            let mut after = 0;
            loop {
                let l = store
                    .list_items(e.id, after, PAGE, &["uid", "flags", "size"])
                    .await?;
                let n = l.items.len();
                for i in &l.items {
                    if !i.flags.iter().any(|f| f.eq_ignore_ascii_case("\\Seen")) {
                        unseen += 1;
                    }
                    size += i.size.max(0) as u64;
                    if i.uid > claimed {
                        recent += 1;
                    }
                }
                match l.items.last() {
                    Some(last) if n as u32 >= PAGE => after = last.uid,
                    _ => break,
                }
            }
        }
        Ok(items
            .iter()
            .map(|&i| {
                let v = match i {
                    StatusItem::Messages => u64::from(info.exists),
                    StatusItem::Recent => recent,
                    StatusItem::UidNext => u64::from(info.uid_next),
                    StatusItem::UidValidity => u64::from(info.uid_validity),
                    StatusItem::Unseen => unseen,
                    StatusItem::HighestModSeq => info.highest_modseq.max(1) as u64,
                    StatusItem::Size => size,
                };
                (i, v)
            })
            .collect())
    }

    pub(super) async fn status(&mut self, mailbox: Mailbox, items: Vec<StatusItem>) -> CmdResult {
        self.require_auth()?;
        let Some(e) = self.find(mailbox.as_str()).await? else {
            return Err(no(
                Some(ResponseCode::NonExistent),
                "Mailbox does not exist",
            ));
        };
        let values = self.status_values(&e, &items).await?;
        Data::Status {
            mailbox: Mailbox::new(e.name.clone()),
            items: values,
        }
        .serialize(&mut self.io.out);
        Ok(Done::ok())
    }

    /// Splits a mailbox name into levels, refusing empty ones.
    fn levels(name: &str) -> Result<Vec<&str>, Fail> {
        let name = name.trim_end_matches(DELIM);
        if name.is_empty() {
            return Err(no(Some(ResponseCode::Cannot), "Invalid mailbox name"));
        }
        let parts: Vec<&str> = name.split(DELIM).collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(no(Some(ResponseCode::Cannot), "Invalid mailbox name"));
        }
        Ok(parts)
    }

    /// The folder id for the parent of `levels`, creating missing levels.
    async fn ensure_parent(&mut self, levels: &[&str]) -> Result<i64, Fail> {
        let root = self
            .tree(false)
            .await?
            .root
            .ok_or_else(|| no(Some(ResponseCode::ServerBug), "Store has no IPM subtree"))?;
        let mut parent = root;
        let store = self.store_session()?;
        for depth in 1..levels.len() {
            let path = levels[..depth].join(&DELIM.to_string());
            match self.find(&path).await? {
                Some(e) => parent = e.id,
                None => {
                    let created = store
                        .create_folder(parent, levels[depth - 1], MAIL_CLASS)
                        .await?;
                    parent = created.id;
                    self.tree = None;
                }
            }
        }
        Ok(parent)
    }

    pub(super) async fn create(&mut self, mailbox: Mailbox) -> CmdResult {
        self.require_auth()?;
        let name = canonical(mailbox.as_str());
        let levels = Self::levels(&name)?;
        if self.find(&name).await?.is_some() {
            return Err(no(
                Some(ResponseCode::AlreadyExists),
                "Mailbox already exists",
            ));
        }
        let parent = self.ensure_parent(&levels).await?;
        let leaf = levels.last().copied().unwrap_or_default();
        let store = self.store_session()?;
        let r = store.create_folder(parent, leaf, MAIL_CLASS).await;
        self.tree = None;
        match r {
            Ok(_) => Ok(Done::ok()),
            Err(kc_store_api::client::ClientError::Conflict) => Err(no(
                Some(ResponseCode::AlreadyExists),
                "Mailbox already exists",
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn delete(&mut self, mailbox: Mailbox) -> CmdResult {
        self.require_auth()?;
        let Some(e) = self.find(mailbox.as_str()).await? else {
            return Err(no(
                Some(ResponseCode::NonExistent),
                "Mailbox does not exist",
            ));
        };
        if e.role.is_some() {
            return Err(no(
                Some(ResponseCode::Cannot),
                "Special folders cannot be deleted",
            ));
        }
        if e.has_children {
            return Err(no(
                Some(ResponseCode::InUse),
                "Mailbox has children, delete them first",
            ));
        }
        if self.selected.as_ref().is_some_and(|s| s.folder == e.id) {
            self.selected = None;
        }
        let store = self.store_session()?;
        let r = store.delete_folder(e.id).await;
        self.tree = None;
        r?;
        // The mailbox's \Recent watermark goes with it (best effort).
        if let Err(err) = store.set_prop(&super::recent::prop_name(e.id), None).await {
            tracing::debug!(error = %err, "cannot drop the recent watermark");
        }
        Ok(Done::ok())
    }

    pub(super) async fn rename(&mut self, from: Mailbox, to: Mailbox) -> CmdResult {
        self.require_auth()?;
        let Some(src) = self.find(from.as_str()).await? else {
            return Err(no(
                Some(ResponseCode::NonExistent),
                "Mailbox does not exist",
            ));
        };
        if src.name == "INBOX" {
            return Err(no(
                Some(ResponseCode::Cannot),
                "Renaming INBOX is not supported",
            ));
        }
        let to_name = canonical(to.as_str());
        let levels = Self::levels(&to_name)?;
        if self.find(&to_name).await?.is_some() {
            return Err(no(
                Some(ResponseCode::AlreadyExists),
                "Target mailbox already exists",
            ));
        }
        if to_name.starts_with(&format!("{}{DELIM}", src.name)) {
            return Err(no(
                Some(ResponseCode::Cannot),
                "Cannot move a mailbox below itself",
            ));
        }
        let parent = self.ensure_parent(&levels).await?;
        let leaf = levels.last().copied().unwrap_or_default();
        let store = self.store_session()?;
        let r = store.update_folder(src.id, Some(leaf), Some(parent)).await;
        self.tree = None;
        match r {
            Ok(_) => {}
            Err(kc_store_api::client::ClientError::Conflict) => {
                return Err(no(
                    Some(ResponseCode::AlreadyExists),
                    "Target mailbox already exists",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(sel) = self.selected.as_mut() {
            if sel.folder == src.id {
                sel.name = Mailbox::new(to_name.clone());
            }
        }
        let store = self.store_session()?;
        let subs = self.subscriptions().await?;
        if subs.rename(&src.name, &to_name, DELIM) {
            if let Err(e) = subs.save(&store).await {
                tracing::warn!(error = %e, "cannot save subscriptions");
            }
        }
        Ok(Done::ok())
    }

    pub(super) async fn subscribe(&mut self, mailbox: Mailbox, on: bool) -> CmdResult {
        self.require_auth()?;
        let name = canonical(mailbox.as_str().trim_end_matches(DELIM));
        if name.is_empty() {
            return Err(no(Some(ResponseCode::Cannot), "Invalid mailbox name"));
        }
        if on && self.find(&name).await?.is_none() {
            return Err(no(
                Some(ResponseCode::NonExistent),
                "Mailbox does not exist",
            ));
        }
        let store = self.store_session()?;
        let subs = self.subscriptions().await?;
        let changed = if on {
            subs.names.insert(name)
        } else {
            subs.names.remove(&name)
        };
        if changed || subs.fresh {
            subs.save(&store).await.map_err(|e| {
                tracing::warn!(error = %e, "cannot save subscriptions");
                no(Some(ResponseCode::ServerBug), "Cannot save subscriptions")
            })?;
        }
        Ok(Done::ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #21, bug 4: `LSUB "" "%"` returns the unsubscribed parent of
    /// a subscribed child as `\Noselect`, `*` only what is subscribed.
    #[test]
    fn lsub_returns_unsubscribed_parents_for_percent() {
        let subs: BTreeSet<String> = ["a/b", "c", "c/d", "e/f/g"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let got = |p: &str| lsub_names(&subs, &full_pattern("", p));
        assert_eq!(
            got("%"),
            vec![
                ("a".to_string(), Listed::ParentOnly),
                ("c".to_string(), Listed::Subscribed),
                ("e".to_string(), Listed::ParentOnly),
            ]
        );
        assert_eq!(
            got("*").iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            vec!["a/b", "c", "c/d", "e/f/g"]
        );
        assert!(got("*").iter().all(|(_, l)| *l == Listed::Subscribed));
        assert_eq!(got("e/%"), vec![("e/f".to_string(), Listed::ParentOnly)]);
        assert_eq!(got("c/%"), vec![("c/d".to_string(), Listed::Subscribed)]);
    }
}
