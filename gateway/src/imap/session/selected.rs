//! The selected mailbox: its UID list (message sequence numbers are
//! positions in it) with the per-message data a listing gives, kept current
//! from the store's change feed.
//!
//! Everything FETCH FAST / FLAGS / UID / MODSEQ / SEARCH-on-flags needs is
//! held here, so those commands cost no store round trip. Bodies are never
//! held (except the one-message cache in the session).

use std::collections::BTreeSet;

use kc_store_api::client::{ClientError, ItemInfo, Session as StoreSession};

use crate::imap::protocol::{Flag, Mailbox, SeqRange, SequenceSet};
use crate::imap::response::{Data, FetchItem, ResponseCode, Status, StatusResponse};

/// Fields asked of `list_items` for the cache.
pub(crate) const LIST_FIELDS: &[&str] = &["uid", "size", "flags", "internal_date", "modseq"];
/// Rows per listing request (the store caps an answer at 100 000).
pub(crate) const PAGE: u32 = 50_000;
/// Changes read per `changes` call.
const CHANGES_PAGE: u32 = 1_000;
/// Up to this many changed messages are re-read one by one; beyond, one
/// listing from the lowest changed UID is cheaper.
const POINT_READS: usize = 8;

/// One message of the selected mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Msg {
    pub uid: u32,
    pub size: i64,
    pub flags: Vec<String>,
    pub internal_date: i64,
    pub modseq: i64,
    /// `\Recent` in this session (claimed through [`super::recent`]).
    pub recent: bool,
}

impl From<ItemInfo> for Msg {
    fn from(i: ItemInfo) -> Self {
        Msg {
            uid: i.uid,
            size: i.size,
            flags: normalize_flags(i.flags),
            internal_date: i.internal_date,
            modseq: i.modseq,
            recent: false,
        }
    }
}

impl Msg {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    pub fn imap_flags(&self) -> Vec<Flag> {
        let mut flags: Vec<Flag> = self.flags.iter().map(|f| Flag::parse(f)).collect();
        if self.recent {
            flags.push(Flag::Recent);
        }
        flags
    }
}

/// Sorted, deduplicated flag strings with system flags in canonical case,
/// as the store normalises them (so comparisons with its answers hold).
pub(crate) fn normalize_flags(flags: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = flags
        .into_iter()
        .filter(|f| !f.is_empty() && !f.chars().any(char::is_whitespace))
        .map(|f| Flag::parse(&f).to_string())
        .filter(|f| f != "\\Recent")
        .collect();
    v.sort();
    v.dedup();
    v
}

/// State of the selected mailbox.
#[derive(Debug)]
pub(crate) struct Selected {
    pub folder: i64,
    pub name: Mailbox,
    pub read_only: bool,
    pub uid_validity: u32,
    pub uid_next: u32,
    /// Messages by ascending UID; index + 1 is the sequence number.
    pub msgs: Vec<Msg>,
    pub highest_modseq: i64,
    /// Store-wide change number up to which the change feed was applied.
    pub seen_change: i64,
    /// QRESYNC is on: expunges are announced as `VANISHED uids`.
    pub vanished: bool,
    /// Keywords announced in FLAGS / PERMANENTFLAGS so far: a client must
    /// hear of a keyword there before it sees it on a message.
    pub keywords: BTreeSet<String>,
    /// UIDs another session expunged, not yet announced: a FETCH, STORE or
    /// SEARCH by sequence number may not be answered with EXPUNGE.
    pub pending_expunge: BTreeSet<u32>,
}

impl Selected {
    /// Opens `folder`: one folder read, then the listing (paged only for
    /// very large mailboxes).
    pub async fn open(
        store: &StoreSession,
        folder: i64,
        name: Mailbox,
        read_only: bool,
    ) -> Result<Selected, ClientError> {
        // The folder's modseq is read before the listing, so every change
        // after it is replayed later; replaying is idempotent.
        let info = store.folder(folder).await?;
        let mut msgs: Vec<Msg> = Vec::with_capacity(info.exists as usize);
        let mut after = 0u32;
        let mut uid_validity;
        let mut uid_next = info.uid_next;
        loop {
            let listing = store.list_items(folder, after, PAGE, LIST_FIELDS).await?;
            uid_validity = listing.uid_validity;
            uid_next = uid_next.max(listing.uid_next);
            let n = listing.items.len();
            for item in listing.items {
                if msgs.last().is_none_or(|m| m.uid < item.uid) {
                    msgs.push(Msg::from(item));
                }
            }
            match msgs.last() {
                Some(m) if n as u32 >= PAGE => after = m.uid,
                _ => break,
            }
        }
        let highest = msgs
            .iter()
            .map(|m| m.modseq)
            .max()
            .unwrap_or(0)
            .max(info.highest_modseq);
        Ok(Selected {
            folder,
            name,
            read_only,
            uid_validity,
            uid_next,
            msgs,
            highest_modseq: highest,
            seen_change: info.highest_modseq,
            vanished: false,
            keywords: BTreeSet::new(),
            pending_expunge: BTreeSet::new(),
        })
    }

    /// Messages recent in this session.
    pub fn recent_count(&self) -> u32 {
        self.msgs.iter().filter(|m| m.recent).count() as u32
    }

    /// Claims the messages no session has seen yet as recent here (not in
    /// a read-only EXAMINE); `true` when some were. A failed claim leaves
    /// them unclaimed: \Recent is advisory, selecting goes on.
    pub async fn claim_recent(&mut self, store: &StoreSession) -> bool {
        let top = self.max_uid();
        if self.read_only || top == 0 {
            return false;
        }
        match super::recent::claim(store, self.folder, top).await {
            Ok(before) => {
                let mut any = false;
                for m in self.msgs.iter_mut().filter(|m| m.uid > before) {
                    m.recent = true;
                    any = true;
                }
                any
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot claim recent messages");
                false
            }
        }
    }

    /// The keywords on cached messages that were not announced yet.
    fn unannounced_keywords(&self) -> BTreeSet<String> {
        self.msgs
            .iter()
            .flat_map(|m| &m.flags)
            .filter(|f| !f.starts_with('\\') && !self.keywords.contains(*f))
            .cloned()
            .collect()
    }

    /// Writes `* FLAGS` and `* OK [PERMANENTFLAGS]` with the system flags
    /// and every keyword in use (read-only: no permanent flags).
    pub fn write_flags(&mut self, out: &mut Vec<u8>) {
        let new = self.unannounced_keywords();
        self.keywords.extend(new);
        let mut flags = vec![
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft,
        ];
        flags.extend(self.keywords.iter().map(|k| Flag::Keyword(k.clone())));
        Data::Flags(flags.clone()).serialize(out);
        let perm = if self.read_only {
            ResponseCode::PermanentFlags(vec![], false)
        } else {
            ResponseCode::PermanentFlags(flags, true)
        };
        let mut r = StatusResponse::untagged(Status::Ok, "Flags permitted");
        r.code = Some(perm);
        r.serialize(out);
    }

    /// Announces keywords that appeared on messages since the last FLAGS
    /// (a STORE of a new keyword, here or in another session) before the
    /// FETCH replies that show them (RFC 3501 §7.2.6).
    pub fn announce_new_keywords(&mut self, out: &mut Vec<u8>) {
        if !self.unannounced_keywords().is_empty() {
            self.write_flags(out);
        }
    }

    pub fn exists(&self) -> u32 {
        self.msgs.len() as u32
    }

    pub fn max_uid(&self) -> u32 {
        self.msgs.last().map_or(0, |m| m.uid)
    }

    pub fn index_of(&self, uid: u32) -> Option<usize> {
        self.msgs.binary_search_by_key(&uid, |m| m.uid).ok()
    }

    /// The message indexes a set names, ascending. Sequence numbers beyond
    /// the mailbox are an error (the caller answers BAD); UIDs that do not
    /// exist are simply skipped (RFC 3501 §6.4.8).
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, &'static str> {
        let mut out = BTreeSet::new();
        let n = self.msgs.len();
        for r in &set.0 {
            if uid {
                let (lo, hi) = uid_bounds(r, self.max_uid());
                let start = self.msgs.partition_point(|m| m.uid < lo);
                let end = self.msgs.partition_point(|m| m.uid <= hi);
                out.extend(start..end);
            } else {
                if n == 0 {
                    // `1:*` on an empty mailbox matches nothing.
                    if has_star(r) {
                        continue;
                    }
                    return Err("no such message");
                }
                let (lo, hi) = r.bounds(n as u32);
                if lo == 0 || hi as usize > n {
                    return Err("invalid message sequence number");
                }
                out.extend((lo as usize - 1)..(hi as usize));
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Applies changes of the store from `seen_change` on, writing the
    /// untagged EXPUNGE / FETCH / EXISTS replies they cause to `out`.
    /// Idempotent: a change this session already applied (its own STORE,
    /// EXPUNGE, ...) produces no reply. Without `expunges`, removed
    /// messages stay (in [`Selected::pending_expunge`]) until a later call
    /// with it.
    pub async fn refresh(
        &mut self,
        store: &StoreSession,
        condstore: bool,
        expunges: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), ClientError> {
        let mut deleted = BTreeSet::new();
        let mut touched = BTreeSet::new();
        let mut fresh = false;
        loop {
            let changes = store.changes(self.seen_change, CHANGES_PAGE, None).await?;
            let Some(last) = changes.last() else { break };
            let full = changes.len() as u32 >= CHANGES_PAGE;
            self.seen_change = self.seen_change.max(last.modseq);
            for c in &changes {
                if c.object_type != "item" || c.folder_id != Some(self.folder) {
                    continue;
                }
                let Some(uid) = c.uid else { continue };
                self.highest_modseq = self.highest_modseq.max(c.modseq);
                match c.change_type.as_str() {
                    "delete" => {
                        touched.remove(&uid);
                        deleted.insert(uid);
                    }
                    "new" => {
                        deleted.remove(&uid);
                        fresh = true;
                    }
                    _ => {
                        // Our own STORE already holds this state (or newer).
                        let known = self
                            .index_of(uid)
                            .is_some_and(|i| self.msgs[i].modseq >= c.modseq);
                        if !known {
                            touched.insert(uid);
                        }
                    }
                }
            }
            if !full {
                break;
            }
        }
        self.pending_expunge.extend(deleted);
        if expunges {
            let gone = std::mem::take(&mut self.pending_expunge);
            self.expunge_uids(gone.into_iter(), out);
        }
        let touched: Vec<u32> = touched
            .into_iter()
            .filter(|u| self.index_of(*u).is_some())
            .collect();
        if touched.is_empty() && !fresh {
            return Ok(());
        }
        let mut rows: Vec<ItemInfo> = Vec::new();
        if touched.len() <= POINT_READS {
            for &uid in &touched {
                let l = store
                    .list_items(self.folder, uid.saturating_sub(1), 1, LIST_FIELDS)
                    .await?;
                rows.extend(l.items.into_iter().filter(|i| i.uid == uid));
            }
            if fresh {
                self.read_from(store, self.max_uid(), &mut rows).await?;
            }
        } else if let Some(&first) = touched.first() {
            self.read_from(store, first.saturating_sub(1), &mut rows)
                .await?;
        }
        let before = self.msgs.len();
        let mut reports = Vec::new();
        for item in rows {
            let msg = Msg::from(item);
            match self.index_of(msg.uid) {
                Some(i) => {
                    let old = &mut self.msgs[i];
                    let report = old.flags != msg.flags || (condstore && old.modseq != msg.modseq);
                    if old.flags == msg.flags && old.modseq == msg.modseq {
                        continue;
                    }
                    self.highest_modseq = self.highest_modseq.max(msg.modseq);
                    let recent = old.recent;
                    *old = msg;
                    old.recent = recent;
                    if report {
                        reports.push(i);
                    }
                }
                None if msg.uid > self.max_uid() => {
                    self.highest_modseq = self.highest_modseq.max(msg.modseq);
                    self.uid_next = self.uid_next.max(msg.uid.saturating_add(1));
                    self.msgs.push(msg);
                }
                // An older UID that is not cached was expunged by the time
                // this session saw it, or never belonged here.
                None => {}
            }
        }
        self.announce_new_keywords(out);
        for i in reports {
            Data::Fetch {
                seq: i as u32 + 1,
                items: unsolicited_items(&self.msgs[i], condstore),
            }
            .serialize(out);
        }
        if self.msgs.len() != before {
            Data::Exists(self.exists()).serialize(out);
            if self.claim_recent(store).await {
                Data::Recent(self.recent_count()).serialize(out);
            }
        }
        Ok(())
    }

    /// Re-reads the flags and modseqs of `uids` from the store (after a
    /// STORE: the store applied the change relative to its own state, which
    /// may hold other sessions' changes this cache has not seen). Writes
    /// nothing; the caller reports the messages.
    pub async fn reload(&mut self, store: &StoreSession, uids: &[u32]) -> Result<(), ClientError> {
        let mut rows: Vec<ItemInfo> = Vec::new();
        if uids.len() <= POINT_READS {
            for &uid in uids {
                let l = store
                    .list_items(self.folder, uid.saturating_sub(1), 1, LIST_FIELDS)
                    .await?;
                rows.extend(l.items.into_iter().filter(|i| i.uid == uid));
            }
        } else if let Some(&first) = uids.iter().min() {
            self.read_from(store, first.saturating_sub(1), &mut rows)
                .await?;
        }
        for item in rows {
            if let Some(i) = self.index_of(item.uid) {
                let msg = Msg::from(item);
                let m = &mut self.msgs[i];
                if msg.modseq >= m.modseq {
                    m.flags = msg.flags;
                    m.modseq = msg.modseq;
                    self.highest_modseq = self.highest_modseq.max(msg.modseq);
                }
            }
        }
        Ok(())
    }

    async fn read_from(
        &self,
        store: &StoreSession,
        mut after: u32,
        rows: &mut Vec<ItemInfo>,
    ) -> Result<(), ClientError> {
        loop {
            let l = store
                .list_items(self.folder, after, PAGE, LIST_FIELDS)
                .await?;
            let n = l.items.len();
            let last = l.items.last().map(|i| i.uid);
            rows.extend(l.items);
            match last {
                Some(u) if n as u32 >= PAGE => after = u,
                _ => return Ok(()),
            }
        }
    }

    /// Removes messages by UID, writing `* n EXPUNGE` for each one cached
    /// (or one `* VANISHED uids` under QRESYNC).
    pub fn expunge_uids(&mut self, uids: impl DoubleEndedIterator<Item = u32>, out: &mut Vec<u8>) {
        let mut uids: Vec<u32> = uids.collect();
        uids.sort_unstable();
        uids.dedup();
        let mut gone = Vec::new();
        // Highest first: earlier sequence numbers stay valid meanwhile.
        for uid in uids.into_iter().rev() {
            if let Some(i) = self.index_of(uid) {
                self.msgs.remove(i);
                if self.vanished {
                    gone.push(uid);
                } else {
                    Data::Expunge(i as u32 + 1).serialize(out);
                }
            }
        }
        if !gone.is_empty() {
            Data::Vanished {
                earlier: false,
                uids: SequenceSet::from_numbers(&gone),
            }
            .serialize(out);
        }
    }

    /// UIDs inside `set` (UIDs, `*` = the highest ever assigned) that are
    /// not in the mailbox: what `VANISHED (EARLIER)` reports. RFC 7162 lets
    /// this include UIDs the client never saw, so no tombstones are needed.
    pub fn missing(&self, set: &SequenceSet) -> Option<SequenceSet> {
        let top = self.uid_next.saturating_sub(1).max(self.max_uid());
        let mut out: Vec<SeqRange> = Vec::new();
        let mut ranges: Vec<(u32, u32)> = set
            .0
            .iter()
            .map(|r| {
                let (lo, hi) = r.bounds(top);
                (lo.max(1), hi.min(top))
            })
            .filter(|(lo, hi)| lo <= hi)
            .collect();
        ranges.sort_unstable();
        let mut last_end = 0u32;
        for (lo, hi) in ranges {
            let lo = lo.max(last_end.saturating_add(1));
            if lo > hi {
                continue;
            }
            last_end = hi;
            let mut cur = lo;
            let start = self.msgs.partition_point(|m| m.uid < lo);
            for m in self.msgs[start..].iter().take_while(|m| m.uid <= hi) {
                if m.uid > cur {
                    push_range(&mut out, cur, m.uid - 1);
                }
                cur = m.uid.saturating_add(1);
            }
            if cur <= hi {
                push_range(&mut out, cur, hi);
            }
        }
        (!out.is_empty()).then_some(SequenceSet(out))
    }
}

/// Appends `lo:hi`, merging with the previous range when adjacent.
fn push_range(out: &mut Vec<SeqRange>, lo: u32, hi: u32) {
    use crate::imap::protocol::SeqNum;
    if let Some(SeqRange {
        end: SeqNum::Value(e),
        ..
    }) = out.last_mut()
    {
        if e.checked_add(1) == Some(lo) {
            *e = hi;
            return;
        }
    }
    out.push(SeqRange {
        start: SeqNum::Value(lo),
        end: SeqNum::Value(hi),
    });
}

/// Items of an unsolicited FETCH: UID and FLAGS, plus MODSEQ under CONDSTORE.
pub(crate) fn unsolicited_items(m: &Msg, condstore: bool) -> Vec<FetchItem> {
    let mut items = vec![FetchItem::Uid(m.uid), FetchItem::Flags(m.imap_flags())];
    if condstore {
        items.push(FetchItem::ModSeq(m.modseq.max(0) as u64));
    }
    items
}

fn has_star(r: &SeqRange) -> bool {
    matches!(r.start, crate::imap::protocol::SeqNum::Star)
        || matches!(r.end, crate::imap::protocol::SeqNum::Star)
}

/// UID range bounds; `*` is the highest UID in use (RFC 3501 §6.4.8: `n:*`
/// always includes the last message even when n is above it).
fn uid_bounds(r: &SeqRange, max_uid: u32) -> (u32, u32) {
    r.bounds(max_uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(uids: &[u32]) -> Selected {
        Selected {
            folder: 1,
            name: Mailbox::new("INBOX".into()),
            read_only: false,
            uid_validity: 1,
            uid_next: 100,
            msgs: uids
                .iter()
                .map(|&uid| Msg {
                    uid,
                    size: 1,
                    flags: vec![],
                    internal_date: 0,
                    modseq: 1,
                    recent: false,
                })
                .collect(),
            highest_modseq: 1,
            seen_change: 1,
            vanished: false,
            keywords: BTreeSet::new(),
            pending_expunge: BTreeSet::new(),
        }
    }

    /// Issue #21, bug 6: a keyword new to the mailbox is announced in
    /// FLAGS and PERMANENTFLAGS (with `\*`), once.
    #[test]
    fn new_keywords_are_announced_once() {
        let mut s = sel(&[3, 5]);
        let mut out = Vec::new();
        s.write_flags(&mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
             * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\r\n"
        );
        out.clear();
        s.announce_new_keywords(&mut out);
        assert!(out.is_empty());
        s.msgs[1].flags = vec!["$keyword1".into(), "\\Seen".into()];
        s.announce_new_keywords(&mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        assert!(
            text.starts_with(
                "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $keyword1)\r\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "[PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $keyword1 \\*)]"
            ),
            "{text}"
        );
        out.clear();
        s.announce_new_keywords(&mut out);
        assert!(out.is_empty());
    }

    fn set(s: &str) -> SequenceSet {
        match crate::imap::parser::parse_bytes(format!("a FETCH {s} FLAGS").as_bytes()) {
            Ok(r) => match r.command {
                crate::imap::protocol::Command::Fetch { set, .. } => set,
                _ => panic!(),
            },
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn resolves_sets() {
        let s = sel(&[3, 5, 9]);
        assert_eq!(s.resolve(&set("1:*"), false).unwrap(), vec![0, 1, 2]);
        assert_eq!(s.resolve(&set("2"), false).unwrap(), vec![1]);
        assert!(s.resolve(&set("4"), false).is_err());
        assert_eq!(s.resolve(&set("4:9"), true).unwrap(), vec![1, 2]);
        assert_eq!(s.resolve(&set("20:*"), true).unwrap(), vec![2]);
        assert_eq!(s.resolve(&set("6:8"), true).unwrap(), Vec::<usize>::new());
        assert!(sel(&[]).resolve(&set("1:*"), false).unwrap().is_empty());
    }

    #[test]
    fn expunge_numbers() {
        let mut s = sel(&[3, 5, 9]);
        let mut out = Vec::new();
        s.expunge_uids([3u32, 9].into_iter(), &mut out);
        assert_eq!(out, b"* 3 EXPUNGE\r\n* 1 EXPUNGE\r\n");
        assert_eq!(s.max_uid(), 5);
    }

    #[test]
    fn missing_uids() {
        let mut s = sel(&[3, 5, 9]);
        s.uid_next = 12;
        assert_eq!(
            s.missing(&set("1:*")).unwrap().to_string(),
            "1:2,4,6:8,10:11"
        );
        assert_eq!(s.missing(&set("5,9")), None);
        assert_eq!(s.missing(&set("4:6,6:7")).unwrap().to_string(), "4,6:7");
        let mut out = Vec::new();
        s.vanished = true;
        s.expunge_uids([3u32, 9].into_iter(), &mut out);
        assert_eq!(out, b"* VANISHED 3,9\r\n");
    }

    #[test]
    fn flags_normalised() {
        assert_eq!(
            normalize_flags(vec!["\\seen".into(), "$X".into(), "\\Seen".into()]),
            vec!["$X".to_string(), "\\Seen".to_string()]
        );
    }
}
