//! FETCH: attributes from the mailbox cache where possible; the message is
//! read from the store only for ENVELOPE, BODY[STRUCTURE], BODY[...] and
//! RFC822*, and the last message read is kept for the next FETCH. A FETCH
//! whose items all lie in the top-level header (ENVELOPE, RFC822.HEADER,
//! BODY[HEADER], BODY[HEADER.FIELDS (..)], ...) reads only the header
//! block, which the node serves without its attachment files. Several
//! messages are read in bulk requests (`fetch_many`), one request per chunk.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::task::JoinHandle;

use kc_store_api::client::{ClientError, FlagOp};

use super::selected::Msg;
use super::{CachedMsg, CmdResult, Done, Fail, Session};
use crate::imap::protocol::{FetchAttr, ImapDate, ImapDateTime, SectionText, SequenceSet};
use crate::imap::response::{Data, FetchItem};
use crate::mime::{self, bodystructure, section, Envelope};

/// Seconds since the epoch as an INTERNALDATE in UTC.
pub(crate) fn imap_datetime(unix: i64) -> ImapDateTime {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let date = u16::try_from(y)
        .ok()
        .and_then(|y| ImapDate::new(y, m, d))
        .unwrap_or(ImapDate {
            year: 1970,
            month: 1,
            day: 1,
        });
    ImapDateTime {
        date,
        hour: (secs / 3600) as u8,
        minute: (secs % 3600 / 60) as u8,
        second: (secs % 60) as u8,
        offset_minutes: 0,
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub(crate) fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn needs_body(a: &FetchAttr) -> bool {
    !matches!(
        a,
        FetchAttr::Flags
            | FetchAttr::InternalDate
            | FetchAttr::Rfc822Size
            | FetchAttr::Uid
            | FetchAttr::ModSeq
    )
}

/// Whether `a` is answered from the top-level header block alone.
fn header_only(a: &FetchAttr) -> bool {
    match a {
        FetchAttr::Envelope | FetchAttr::Rfc822Header => true,
        FetchAttr::BodySection { section, .. } => {
            section.part.is_empty()
                && matches!(
                    section.text,
                    Some(
                        SectionText::Header
                            | SectionText::HeaderFields(_)
                            | SectionText::HeaderFieldsNot(_)
                    )
                )
        }
        _ => !needs_body(a),
    }
}

fn sets_seen(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Rfc822 | FetchAttr::Rfc822Text | FetchAttr::BodySection { peek: false, .. }
    )
}

impl Session {
    /// The bodies of `msgs` (UID, known size), in order, read ahead in bulk
    /// requests (the last message read is served from the session's
    /// one-entry cache).
    pub(super) fn bodies(&self, msgs: Vec<(u32, u64)>) -> Result<Prefetch, Fail> {
        self.prefetch(msgs, false)
    }

    /// As [`Self::bodies`], the header blocks only (`header`) or whole.
    fn prefetch(&self, msgs: Vec<(u32, u64)>, header: bool) -> Result<Prefetch, Fail> {
        let (folder, validity) = match &self.selected {
            Some(s) => (s.folder, s.uid_validity),
            None => return Err(Fail::Bad("no mailbox selected".into())),
        };
        let cached = self
            .cached
            .as_ref()
            .filter(|c| c.folder == folder && c.uid_validity == validity)
            .map(|c| (c.uid, c.data.clone()));
        Ok(Prefetch {
            store: self.store_session()?,
            folder,
            validity,
            bulk: msgs.len() > 1,
            msgs,
            next: 0,
            pending: VecDeque::new(),
            ready: VecDeque::new(),
            cached,
            header,
        })
    }

    pub(super) async fn fetch(
        &mut self,
        uid: bool,
        set: SequenceSet,
        attrs: Vec<FetchAttr>,
        changed_since: Option<u64>,
        vanished: bool,
    ) -> CmdResult {
        self.require_selected()?;
        if vanished && !self.qresync {
            return Err(Fail::Bad("VANISHED needs ENABLE QRESYNC".into()));
        }
        if attrs
            .iter()
            .any(|a| matches!(a, FetchAttr::Binary { .. } | FetchAttr::BinarySize { .. }))
        {
            return Err(Fail::Bad("BINARY is not supported".into()));
        }
        if changed_since.is_some() || attrs.contains(&FetchAttr::ModSeq) {
            self.condstore = true;
        }
        let condstore = self.condstore;
        let (folder, read_only, targets) = {
            let Some(sel) = self.selected.as_ref() else {
                return Err(Fail::Bad("no mailbox selected".into()));
            };
            let idx = sel.resolve(&set, uid).map_err(|e| Fail::Bad(e.into()))?;
            let targets: Vec<usize> = idx
                .into_iter()
                .filter(|&i| changed_since.is_none_or(|cs| sel.msgs[i].modseq.max(0) as u64 > cs))
                .collect();
            (sel.folder, sel.read_only, targets)
        };
        if vanished {
            if let Some(uids) = self.selected.as_ref().and_then(|s| s.missing(&set)) {
                Data::Vanished {
                    earlier: true,
                    uids,
                }
                .serialize(&mut self.io.out);
            }
        }
        let body = attrs.iter().any(needs_body);
        let header = attrs.iter().all(header_only);
        // \Seen is set in one bulk call before any reply, so the replies
        // carry the new flags.
        let mut seen_set = std::collections::HashSet::new();
        if !read_only && attrs.iter().any(sets_seen) {
            let uids: Vec<u32> = match self.selected.as_ref() {
                Some(sel) => targets
                    .iter()
                    .map(|&i| &sel.msgs[i])
                    .filter(|m| !m.has("\\Seen"))
                    .map(|m| m.uid)
                    .collect(),
                None => vec![],
            };
            if !uids.is_empty() {
                let store = self.store_session()?;
                let changed = store
                    .set_flags(folder, &uids, FlagOp::Add, &["\\Seen".to_string()])
                    .await?;
                if let Some(sel) = self.selected.as_mut() {
                    // Read back, not computed: the store's flags may hold
                    // other sessions' changes this cache has not seen.
                    let changed: Vec<u32> = changed.into_iter().map(|(u, _)| u).collect();
                    sel.reload(&store, &changed).await?;
                    seen_set.extend(changed);
                }
            }
        }
        let todo: Vec<Msg> = match self.selected.as_ref() {
            Some(sel) => targets
                .iter()
                .filter_map(|&i| sel.msgs.get(i).cloned())
                .collect(),
            None => Vec::new(),
        };
        let mut bodies = if body {
            Some(self.prefetch(
                todo.iter().map(|m| (m.uid, m.size.max(0) as u64)).collect(),
                header,
            )?)
        } else {
            None
        };
        for (i, m) in targets.into_iter().zip(todo) {
            let data = match bodies.as_mut() {
                Some(pf) => match pf.next().await {
                    Some(Ok(d)) => {
                        if let Some(c) = pf.cache_entry(m.uid, &d) {
                            self.cached = Some(c);
                        }
                        Some(d)
                    }
                    // Expunged by another session meanwhile: skip it.
                    Some(Err(ClientError::NotFound)) => continue,
                    Some(Err(e)) => return Err(e.into()),
                    None => None,
                },
                None => None,
            };
            let items = fetch_items(
                &m,
                &attrs,
                data.as_deref().map(Vec::as_slice),
                uid,
                condstore,
                seen_set.contains(&m.uid),
                !header,
            );
            Data::Fetch {
                seq: i as u32 + 1,
                items,
            }
            .serialize(&mut self.io.out);
            self.io
                .flush_if_big()
                .await
                .map_err(|_| Fail::Bad("write failed".into()))?;
        }
        Ok(Done::ok())
    }
}

/// The reply items for one message, in request order (UID first when the
/// command was UID FETCH). `msg` is the whole message when `whole`, else
/// its header block (enough for every item [`header_only`] accepts).
fn fetch_items(
    m: &Msg,
    attrs: &[FetchAttr],
    msg: Option<&[u8]>,
    uid_cmd: bool,
    condstore: bool,
    seen_changed: bool,
    whole: bool,
) -> Vec<FetchItem> {
    let mut items = Vec::with_capacity(attrs.len() + 2);
    if uid_cmd {
        items.push(FetchItem::Uid(m.uid));
    }
    let mut tree = None;
    let mut has_flags = false;
    let mut has_modseq = false;
    for a in attrs {
        match a {
            FetchAttr::Uid => {
                if !uid_cmd {
                    items.push(FetchItem::Uid(m.uid));
                }
            }
            FetchAttr::Flags => {
                has_flags = true;
                items.push(FetchItem::Flags(m.imap_flags()));
            }
            FetchAttr::InternalDate => {
                items.push(FetchItem::InternalDate(imap_datetime(m.internal_date)))
            }
            FetchAttr::Rfc822Size => {
                let size = msg
                    .filter(|_| whole)
                    .map_or(m.size.max(0) as u64, |d| d.len() as u64);
                items.push(FetchItem::Rfc822Size(size));
            }
            FetchAttr::ModSeq => {
                has_modseq = true;
                items.push(FetchItem::ModSeq(m.modseq.max(0) as u64));
            }
            _ => {
                let Some(msg) = msg else { continue };
                match a {
                    FetchAttr::Envelope => {
                        items.push(FetchItem::Envelope(Envelope::parse(msg).to_bytes()))
                    }
                    FetchAttr::Body | FetchAttr::BodyStructure => {
                        let root = tree.get_or_insert_with(|| mime::parse(msg));
                        let mut out = Vec::new();
                        bodystructure::write(
                            msg,
                            root,
                            matches!(a, FetchAttr::BodyStructure),
                            &mut out,
                        );
                        items.push(if matches!(a, FetchAttr::BodyStructure) {
                            FetchItem::BodyStructure(out)
                        } else {
                            FetchItem::Body(out)
                        });
                    }
                    FetchAttr::Rfc822 => items.push(FetchItem::Rfc822(msg.to_vec())),
                    FetchAttr::Rfc822Header => {
                        items.push(FetchItem::Rfc822Header(section::header_block(msg).to_vec()))
                    }
                    FetchAttr::Rfc822Text => {
                        items.push(FetchItem::Rfc822Text(section::text_block(msg).to_vec()))
                    }
                    FetchAttr::BodySection {
                        section: sec,
                        partial,
                        ..
                    } => {
                        let bytes = if sec.part.is_empty() && sec.text.is_none() {
                            section::partial(msg, *partial).to_vec()
                        } else if sec.part.is_empty()
                            && matches!(sec.text, Some(SectionText::Header))
                        {
                            section::partial(section::header_block(msg), *partial).to_vec()
                        } else {
                            let root = tree.get_or_insert_with(|| mime::parse(msg));
                            let whole = section::extract(msg, root, sec).unwrap_or_default();
                            section::partial(&whole, *partial).to_vec()
                        };
                        items.push(FetchItem::BodySection {
                            section: sec.clone(),
                            origin: partial.map(|p| p.origin),
                            data: Some(bytes),
                        });
                    }
                    _ => {}
                }
            }
        }
    }
    if seen_changed && !has_flags {
        items.push(FetchItem::Flags(m.imap_flags()));
    }
    if condstore && !has_modseq {
        items.push(FetchItem::ModSeq(m.modseq.max(0) as u64));
    }
    items
}

/// One message read, or why not (`NotFound`: expunged meanwhile).
type Read = Result<Arc<Vec<u8>>, ClientError>;

/// Messages read ahead of the FETCH/SEARCH loop that consumes them, taken in
/// order. Several messages go in bulk requests (`fetch_many`, chunks of at
/// most [`BULK_COUNT`] messages or about [`BULK_BYTES`] by their known
/// sizes, [`BULK_AHEAD`] requests in flight); a single message is one
/// `fetch`.
pub(super) struct Prefetch {
    store: kc_store_api::client::Session,
    folder: i64,
    validity: u32,
    /// UID and known size (RFC822.SIZE) of every message, in order.
    msgs: Vec<(u32, u64)>,
    next: usize,
    /// Requests in flight, each answering one result per UID of its group.
    pending: VecDeque<JoinHandle<Vec<Read>>>,
    /// Results of the last finished request not yet taken.
    ready: VecDeque<Read>,
    cached: Option<(u32, Arc<Vec<u8>>)>,
    /// Header blocks only (`Session::fetch_header`), not whole messages.
    header: bool,
    /// More than one message: bulk requests.
    bulk: bool,
}

/// Single-message store requests in flight.
const READ_AHEAD: usize = 8;
/// Bulk store requests in flight (one answered while the next is read).
const BULK_AHEAD: usize = 2;
/// Most messages per bulk request.
const BULK_COUNT: usize = 100;
/// Known bytes per bulk request (a larger message goes alone).
const BULK_BYTES: u64 = 32 << 20;

/// The UIDs of the next bulk request from `msgs`: at least one, at most
/// [`BULK_COUNT`], and no more than [`BULK_BYTES`] by size unless alone; it
/// stops before `cached` (served from memory, on its own).
fn next_group(msgs: &[(u32, u64)], cached: Option<u32>) -> Vec<u32> {
    let mut group = Vec::new();
    let mut bytes = 0u64;
    for &(uid, size) in msgs.iter().take(BULK_COUNT) {
        let is_cached = cached == Some(uid);
        if !group.is_empty() && (is_cached || bytes.saturating_add(size) > BULK_BYTES) {
            break;
        }
        group.push(uid);
        bytes = bytes.saturating_add(size);
        if is_cached {
            break;
        }
    }
    group
}

/// A read message as the IMAP layer wants it (CRLF line ends).
fn normalized(raw: &[u8]) -> Arc<Vec<u8>> {
    Arc::new(mime::normalize_crlf(raw).into_owned())
}

async fn fetch_one(
    store: &kc_store_api::client::Session,
    folder: i64,
    uid: u32,
    header: bool,
) -> Read {
    let raw = if header {
        store.fetch_header(folder, uid).await?
    } else {
        store.fetch(folder, uid).await?
    };
    Ok(normalized(&raw))
}

impl Prefetch {
    fn spawn(&self, group: Vec<u32>) -> JoinHandle<Vec<Read>> {
        if let (Some((cu, data)), [uid]) = (&self.cached, group.as_slice()) {
            if cu == uid {
                let data = if self.header {
                    Arc::new(section::header_block(data).to_vec())
                } else {
                    data.clone()
                };
                return tokio::spawn(async move { vec![Ok(data)] });
            }
        }
        let store = self.store.clone();
        let folder = self.folder;
        let header = self.header;
        tokio::spawn(async move {
            if let [uid] = group.as_slice() {
                return vec![fetch_one(&store, folder, *uid, header).await];
            }
            let answer = if header {
                store.fetch_headers_many(folder, &group).await
            } else {
                store.fetch_many(folder, &group).await
            };
            match answer {
                Ok(got) => {
                    let mut got = got.into_iter().peekable();
                    group
                        .iter()
                        .map(|u| match got.next_if(|(g, _)| g == u) {
                            Some((_, b)) => Ok(normalized(&b)),
                            None => Err(ClientError::NotFound),
                        })
                        .collect()
                }
                // The folder is gone, or a node without bulk fetch: ask one
                // by one (each answers for itself).
                Err(ClientError::NotFound) => {
                    let mut out = Vec::with_capacity(group.len());
                    for &uid in &group {
                        out.push(fetch_one(&store, folder, uid, header).await);
                    }
                    out
                }
                Err(e) => group.iter().map(|_| Err(e.clone())).collect(),
            }
        })
    }

    fn fill(&mut self) {
        let depth = if self.bulk { BULK_AHEAD } else { READ_AHEAD };
        while self.pending.len() < depth && self.next < self.msgs.len() {
            let group = if self.bulk {
                next_group(&self.msgs[self.next..], self.cached.as_ref().map(|c| c.0))
            } else {
                vec![self.msgs[self.next].0]
            };
            self.next += group.len();
            let h = self.spawn(group);
            self.pending.push_back(h);
        }
    }

    /// The next body in order; `None` when all were taken.
    pub(super) async fn next(&mut self) -> Option<Read> {
        loop {
            if let Some(r) = self.ready.pop_front() {
                return Some(r);
            }
            self.fill();
            let h = self.pending.pop_front()?;
            // Keep the pipeline full while this answer is awaited.
            self.fill();
            match h.await {
                Ok(v) => self.ready.extend(v),
                Err(e) => {
                    return Some(Err(ClientError::Protocol(format!(
                        "fetch task failed: {e}"
                    ))))
                }
            }
        }
    }

    /// The session cache entry for a whole message this prefetch returned
    /// (`None` for header blocks, which must not stand in for a message).
    pub(super) fn cache_entry(&self, uid: u32, data: &Arc<Vec<u8>>) -> Option<CachedMsg> {
        (!self.header).then(|| CachedMsg {
            folder: self.folder,
            uid_validity: self.validity,
            uid,
            data: data.clone(),
        })
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // A FETCH that fails half-way must not leave reads running.
        for h in &self.pending {
            h.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        let d = imap_datetime(837_596_665 - 420 * 60 + 420 * 60);
        assert_eq!(d.unix_time(), 837_596_665);
        assert_eq!(imap_datetime(0).to_string(), " 1-Jan-1970 00:00:00 +0000");
    }

    fn sec(part: Vec<u32>, text: Option<SectionText>) -> FetchAttr {
        FetchAttr::BodySection {
            peek: true,
            section: crate::imap::protocol::Section { part, text },
            partial: None,
        }
    }

    #[test]
    fn bulk_groups() {
        let small: Vec<(u32, u64)> = (1..=250).map(|u| (u, 1000)).collect();
        assert_eq!(next_group(&small, None), (1..=100).collect::<Vec<_>>());
        assert_eq!(
            next_group(&small[200..], None),
            (201..=250).collect::<Vec<_>>()
        );
        // The cached message ends a group and goes alone.
        assert_eq!(next_group(&small, Some(4)), vec![1, 2, 3]);
        assert_eq!(next_group(&small[3..], Some(4)), vec![4]);
        // By size: ~32 MiB per group, a larger message alone.
        let mb = 1 << 20;
        let sized = [
            (1, 20 * mb),
            (2, 10 * mb),
            (3, 5 * mb),
            (4, 100 * mb),
            (5, 1),
        ];
        assert_eq!(next_group(&sized, None), vec![1, 2]);
        assert_eq!(next_group(&sized[2..], None), vec![3]);
        assert_eq!(next_group(&sized[3..], None), vec![4]);
        assert_eq!(next_group(&sized[4..], None), vec![5]);
        assert!(next_group(&[], None).is_empty());
    }

    #[test]
    fn header_items_need_only_the_header() {
        let fields = || {
            Some(SectionText::HeaderFields(vec![
                "SUBJECT".into(),
                "x-big".into(),
            ]))
        };
        let header_attrs = vec![
            FetchAttr::Uid,
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
            FetchAttr::Envelope,
            FetchAttr::Rfc822Header,
            sec(vec![], Some(SectionText::Header)),
            sec(vec![], fields()),
            sec(
                vec![],
                Some(SectionText::HeaderFieldsNot(vec!["To".into()])),
            ),
            FetchAttr::BodySection {
                peek: false,
                section: crate::imap::protocol::Section {
                    part: vec![],
                    text: Some(SectionText::Header),
                },
                partial: Some(crate::imap::protocol::Partial {
                    origin: 2,
                    count: 7,
                }),
            },
        ];
        assert!(header_attrs.iter().all(header_only));
        for a in [
            FetchAttr::BodyStructure,
            FetchAttr::Body,
            FetchAttr::Rfc822,
            FetchAttr::Rfc822Text,
            sec(vec![], None),
            sec(vec![], Some(SectionText::Text)),
            sec(vec![1], Some(SectionText::Header)),
            sec(vec![2], fields()),
            sec(vec![1], Some(SectionText::Mime)),
        ] {
            assert!(!header_only(&a), "{a:?}");
        }

        // A message with a large attachment: every header item gives the
        // same bytes from the header block as from the whole message.
        let att = "QUJD".repeat(200_000);
        let raw = format!(
            "From: A <a@example.org>\r\nTo: b@example.org\r\nSubject: big\r\nX-Big: yes\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n--XX\r\n\
Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{att}\r\n--XX--\r\n"
        )
        .into_bytes();
        let head = section::header_block(&raw);
        assert!(head.len() < 300);
        let m = Msg {
            uid: 7,
            size: raw.len() as i64,
            flags: vec![],
            internal_date: 0,
            modseq: 1,
            recent: false,
        };
        let from_whole = fetch_items(&m, &header_attrs, Some(&raw), true, false, false, true);
        let from_head = fetch_items(&m, &header_attrs, Some(head), true, false, false, false);
        assert_eq!(from_whole, from_head);
        assert!(from_head.contains(&FetchItem::Rfc822Size(raw.len() as u64)));
        assert!(from_head.iter().any(|i| matches!(i,
            FetchItem::BodySection { data: Some(d), .. } if d == b"Subject: big\r\nX-Big: yes\r\n\r\n")));
    }
}
