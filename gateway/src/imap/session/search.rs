//! SEARCH over the selected mailbox. Flag, size, date, UID and MODSEQ keys
//! use the cache; header and text keys read each candidate message.
//! Matching is case-insensitive substring matching on the raw bytes
//! (RFC 3501 §6.4.4 leaves the details to the server).

use super::selected::Msg;
use super::{CmdResult, Done, Fail, Session};
use crate::imap::protocol::{ImapDate, SearchKey};
use crate::imap::response::Data;
use crate::mime::header;

fn needs_body(k: &SearchKey) -> bool {
    use SearchKey::*;
    match k {
        Bcc(_) | Body(_) | Cc(_) | From(_) | Header(..) | Subject(_) | Text(_) | To(_)
        | SentBefore(_) | SentOn(_) | SentSince(_) => true,
        Not(k) => needs_body(k),
        Or(a, b) => needs_body(a) || needs_body(b),
        And(ks) => ks.iter().any(needs_body),
        _ => false,
    }
}

fn has_modseq(k: &SearchKey) -> bool {
    match k {
        SearchKey::ModSeq(_) => true,
        SearchKey::Not(k) => has_modseq(k),
        SearchKey::Or(a, b) => has_modseq(a) || has_modseq(b),
        SearchKey::And(ks) => ks.iter().any(has_modseq),
        _ => false,
    }
}

/// Case-insensitive (ASCII) substring test. `str::contains` (two-way
/// search) keeps hostile needles linear; invalid UTF-8 in the message only
/// stops matches across the bad bytes.
fn contains(hay: &[u8], needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.len() > hay.len() {
        return false;
    }
    String::from_utf8_lossy(hay)
        .to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

struct Ctx<'a> {
    seq: u32,
    max_seq: u32,
    max_uid: u32,
    msg: &'a Msg,
    raw: Option<&'a [u8]>,
}

fn header_value(raw: &[u8], name: &str) -> Vec<u8> {
    let (end, _) = header::split_header(raw, 0..raw.len());
    let fields = header::fields(raw, 0..end);
    let mut out = Vec::new();
    for f in &fields {
        if raw[f.name.clone()].eq_ignore_ascii_case(name.as_bytes()) {
            out.extend_from_slice(&header::unfold(&raw[f.value.clone()]));
            out.push(b'\n');
        }
    }
    out
}

/// Whether an address field (From, To, Cc, Bcc) contains `needle`: in its
/// raw text, or in one of its addresses as parsed for ENVELOPE and written
/// `name <mailbox@host>`, so that comments and folding inside an address
/// (`<user (c)@ (c) domain.org>`) do not hide it (as Dovecot searches).
fn address_contains(raw: &[u8], name: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let (end, _) = header::split_header(raw, 0..raw.len());
    header::fields(raw, 0..end)
        .iter()
        .filter(|f| raw[f.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
        .any(|f| {
            let value = header::unfold(&raw[f.value.clone()]);
            contains(&value, needle)
                || crate::mime::address::parse_list(&value)
                    .iter()
                    .any(|a| contains(&address_text(a), needle))
        })
}

/// `name <mailbox@host>` of a parsed address (absent parts left out).
fn address_text(a: &crate::mime::address::Address) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(n) = &a.name {
        out.extend_from_slice(n);
        out.extend_from_slice(b" ");
    }
    out.push(b'<');
    if let Some(m) = &a.mailbox {
        out.extend_from_slice(m);
    }
    if let Some(h) = &a.host {
        out.push(b'@');
        out.extend_from_slice(h);
    }
    out.push(b'>');
    out
}

fn has_header(raw: &[u8], name: &str) -> bool {
    let (end, _) = header::split_header(raw, 0..raw.len());
    header::fields(raw, 0..end)
        .iter()
        .any(|f| raw[f.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
}

fn day_of(unix: i64) -> i64 {
    unix.div_euclid(86_400)
}

/// The day of the `Date:` header (its own local date, as RFC 3501 asks).
fn sent_day(raw: &[u8]) -> Option<i64> {
    let v = header_value(raw, "Date");
    let text = String::from_utf8_lossy(&v);
    let mut tokens = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty());
    let mut day = None;
    for t in tokens.by_ref() {
        if let Ok(d) = t.parse::<u8>() {
            day = Some(d);
            break;
        }
    }
    let month = tokens.next()?;
    let month = crate::imap::protocol::message_months()
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month))? as u8
        + 1;
    let year: u16 = tokens.next()?.parse().ok()?;
    let year = if year < 50 {
        year + 2000
    } else if year < 1000 {
        year + 1900
    } else {
        year
    };
    ImapDate::new(year, month, day?).map(|d| d.unix_days())
}

/// Three-valued evaluation without the body: `None` when the answer
/// depends on a key that needs the message text.
fn eval_cheap(k: &SearchKey, c: &Ctx<'_>) -> Option<bool> {
    use SearchKey::*;
    match k {
        Not(k) => eval_cheap(k, c).map(|v| !v),
        Or(a, b) => match (eval_cheap(a, c), eval_cheap(b, c)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        And(ks) => {
            let mut unknown = false;
            for k in ks {
                match eval_cheap(k, c) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            (!unknown).then_some(true)
        }
        k if needs_body(k) => None,
        k => Some(eval(k, c)),
    }
}

fn eval(k: &SearchKey, c: &Ctx<'_>) -> bool {
    use SearchKey::*;
    let m = c.msg;
    let raw = c.raw.unwrap_or_default();
    match k {
        All => true,
        Answered => m.has("\\Answered"),
        Unanswered => !m.has("\\Answered"),
        Deleted => m.has("\\Deleted"),
        Undeleted => !m.has("\\Deleted"),
        Draft => m.has("\\Draft"),
        Undraft => !m.has("\\Draft"),
        Flagged => m.has("\\Flagged"),
        Unflagged => !m.has("\\Flagged"),
        Seen => m.has("\\Seen"),
        Unseen => !m.has("\\Seen"),
        Recent => m.recent,
        New => m.recent && !m.has("\\Seen"),
        Old => !m.recent,
        Keyword(f) => m.has(&f.to_string()),
        Unkeyword(f) => !m.has(&f.to_string()),
        Larger(n) => m.size > i64::from(*n),
        Smaller(n) => m.size < i64::from(*n),
        Before(d) => day_of(m.internal_date) < d.unix_days(),
        On(d) => day_of(m.internal_date) == d.unix_days(),
        Since(d) => day_of(m.internal_date) >= d.unix_days(),
        SentBefore(d) => sent_day(raw).is_some_and(|s| s < d.unix_days()),
        SentOn(d) => sent_day(raw).is_some_and(|s| s == d.unix_days()),
        SentSince(d) => sent_day(raw).is_some_and(|s| s >= d.unix_days()),
        Bcc(s) => address_contains(raw, "Bcc", s),
        Cc(s) => address_contains(raw, "Cc", s),
        From(s) => address_contains(raw, "From", s),
        To(s) => address_contains(raw, "To", s),
        Subject(s) => contains(&header_value(raw, "Subject"), s),
        Header(name, s) => {
            if s.is_empty() {
                has_header(raw, name)
            } else {
                contains(&header_value(raw, name), s)
            }
        }
        Body(s) => contains(crate::mime::section::text_block(raw), s),
        Text(s) => contains(raw, s),
        Uid(set) => set.contains(m.uid, c.max_uid),
        Sequence(set) => set.contains(c.seq, c.max_seq),
        ModSeq(n) => m.modseq.max(0) as u64 >= *n,
        Not(k) => !eval(k, c),
        Or(a, b) => eval(a, c) || eval(b, c),
        And(ks) => ks.iter().all(|k| eval(k, c)),
    }
}

impl Session {
    pub(super) async fn search(&mut self, uid: bool, criteria: Vec<SearchKey>) -> CmdResult {
        self.require_selected()?;
        let key = SearchKey::And(criteria);
        let modseq = has_modseq(&key);
        if modseq {
            self.condstore = true;
        }
        let body = needs_body(&key);
        let msgs: Vec<Msg> = match self.selected.as_ref() {
            Some(s) => s.msgs.clone(),
            None => return Err(Fail::Bad("no mailbox selected".into())),
        };
        let max_seq = msgs.len() as u32;
        let max_uid = msgs.last().map_or(0, |m| m.uid);
        let mut ids = Vec::new();
        let mut highest = 0i64;
        // Keys that do not need the body decide first; only the messages
        // they leave open are read from the store.
        let mut open = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            let c = Ctx {
                seq: i as u32 + 1,
                max_seq,
                max_uid,
                msg: m,
                raw: None,
            };
            match eval_cheap(&key, &c) {
                Some(true) => {
                    ids.push((i, m.uid, m.modseq));
                }
                Some(false) => {}
                None => open.push(i),
            }
        }
        if body && !open.is_empty() {
            let mut bodies = self.bodies(
                open.iter()
                    .map(|&i| (msgs[i].uid, msgs[i].size.max(0) as u64))
                    .collect(),
            )?;
            for &i in &open {
                let m = &msgs[i];
                let raw = match bodies.next().await {
                    Some(Ok(d)) => d,
                    Some(Err(kc_store_api::client::ClientError::NotFound)) => continue,
                    Some(Err(e)) => return Err(e.into()),
                    None => break,
                };
                let c = Ctx {
                    seq: i as u32 + 1,
                    max_seq,
                    max_uid,
                    msg: m,
                    raw: Some(&raw),
                };
                if eval(&key, &c) {
                    ids.push((i, m.uid, m.modseq));
                }
            }
        }
        ids.sort_unstable();
        for &(_, _, modseq) in &ids {
            highest = highest.max(modseq);
        }
        let ids: Vec<u32> = ids
            .into_iter()
            .map(|(i, u, _)| if uid { u } else { i as u32 + 1 })
            .collect();
        let mod_seq = (modseq && !ids.is_empty()).then_some(highest.max(0) as u64);
        Data::Search { ids, mod_seq }.serialize(&mut self.io.out);
        Ok(Done::ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #21, bug 7: SEARCH FROM finds an address written with RFC
    /// 5322 comments inside it, as ENVELOPE parses it.
    #[test]
    fn address_search_sees_through_comments() {
        let raw = b"From: <user-from (comment)@ (comment) domain.org>\r\n\
                    To: Someone <to@example.net>, other@example.org\r\n\r\nbody";
        assert!(address_contains(raw, "From", "user-from@domain.org"));
        assert!(address_contains(raw, "from", "USER-FROM@DOMAIN.ORG"));
        assert!(address_contains(raw, "From", "comment"));
        assert!(!address_contains(raw, "From", "other@example.org"));
        assert!(address_contains(raw, "To", "other@example.org"));
        assert!(address_contains(raw, "To", "Someone <to@example.net>"));
        // An empty string matches every message, as before.
        assert!(address_contains(raw, "Cc", ""));
    }

    #[test]
    fn sent_dates() {
        let raw = b"Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n\r\nx";
        assert_eq!(
            sent_day(raw),
            ImapDate::new(2003, 7, 1).map(|d| d.unix_days())
        );
        assert!(contains(b"Hello World", "world"));
        assert!(!contains(b"Hello", "worlds"));
    }
}
