//! Pure, fuzzable parsing of store-API query parameters and JSON request
//! bodies. Every function bounds what it accepts; none panics on any input.

use std::time::Duration;

use serde::Deserialize;

use super::route::query_param;
use super::{ITEM_FIELDS, MAX_ROWS};
use crate::client::frames::MAX_UIDS;
use crate::storage::{FlagOp, ItemKind};

/// Longest `changes?wait=` honoured, in seconds.
pub const MAX_WAIT: u64 = 300;

/// A parameter or body the API refuses (answered 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

type R<T> = Result<T, ParamError>;

fn bad(m: impl Into<String>) -> ParamError {
    ParamError(m.into())
}

/// `limit=N` (1.., capped at [`MAX_ROWS`]; default [`MAX_ROWS`]).
pub fn limit(q: Option<&str>) -> R<usize> {
    match query_param(q, "limit") {
        None => Ok(MAX_ROWS),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| n.min(MAX_ROWS))
            .ok_or_else(|| bad("bad limit")),
    }
}

/// `after_uid=N` (default 0).
pub fn after_uid(q: Option<&str>) -> R<u32> {
    match query_param(q, "after_uid") {
        Some(v) => v.parse::<u32>().map_err(|_| bad("bad after_uid")),
        None => Ok(0),
    }
}

/// `since=MODSEQ` (default 0).
pub fn since(q: Option<&str>) -> R<i64> {
    match query_param(q, "since") {
        Some(v) => v.parse::<i64>().map_err(|_| bad("bad since")),
        None => Ok(0),
    }
}

/// `wait=SECONDS` for a long poll, capped at [`MAX_WAIT`]; `None` (or 0) = answer at once.
pub fn wait(q: Option<&str>) -> R<Option<Duration>> {
    match query_param(q, "wait") {
        None => Ok(None),
        Some(v) => {
            let s = v.parse::<u64>().map_err(|_| bad("bad wait"))?;
            Ok((s > 0).then(|| Duration::from_secs(s.min(MAX_WAIT))))
        }
    }
}

/// `part=` of a message fetch: `true` for `part=header` (the header block
/// only), `false` without the parameter (the whole message).
pub fn header_only(q: Option<&str>) -> R<bool> {
    match query_param(q, "part").as_deref() {
        None => Ok(false),
        Some("header") => Ok(true),
        Some(_) => Err(bad("bad part (only part=header)")),
    }
}

/// `fields=a,b` (known names only, in the given order; default: all).
pub fn fields(q: Option<&str>) -> R<Vec<&'static str>> {
    match query_param(q, "fields") {
        None => Ok(ITEM_FIELDS.to_vec()),
        Some(list) => {
            let mut v = Vec::new();
            for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let known = ITEM_FIELDS
                    .iter()
                    .find(|k| **k == name)
                    .ok_or_else(|| bad(format!("unknown field {name}")))?;
                v.push(*known);
            }
            Ok(v)
        }
    }
}

/// `flags=F1+F2` of an append.
pub fn flags(q: Option<&str>) -> Vec<String> {
    query_param(q, "flags")
        .map(|f| f.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// `internal_date=UNIX` of an append.
pub fn internal_date(q: Option<&str>) -> R<Option<i64>> {
    query_param(q, "internal_date")
        .map(|v| v.parse::<i64>().map_err(|_| bad("bad internal_date")))
        .transpose()
}

/// `kind=calendar|contact|task` of a groupware PUT.
pub fn object_kind(q: Option<&str>) -> R<Option<ItemKind>> {
    query_param(q, "kind")
        .map(|k| {
            ItemKind::parse(&k)
                .filter(|k| *k != ItemKind::Mail)
                .ok_or_else(|| bad("kind must be calendar, contact or task"))
        })
        .transpose()
}

/// A JSON request body.
pub fn json<T: for<'de> Deserialize<'de>>(b: &[u8]) -> R<T> {
    serde_json::from_slice(b).map_err(|e| bad(format!("bad request: {e}")))
}

#[derive(Debug, Deserialize)]
pub struct NewFolder {
    pub parent: i64,
    pub name: String,
    #[serde(default)]
    pub class: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FolderChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub parent: Option<i64>,
}

/// The body of `flags`, `copy`, `move`, `delete`.
#[derive(Debug, Default, Deserialize)]
pub struct BulkReq {
    #[serde(default)]
    pub uids: Vec<u32>,
    #[serde(default)]
    pub op: Option<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub dest: Option<i64>,
}

/// A bulk body with at most [`MAX_ROWS`] UIDs.
pub fn bulk(b: &[u8]) -> R<BulkReq> {
    let r: BulkReq = json(b)?;
    if r.uids.len() > MAX_ROWS {
        return Err(bad("too many uids"));
    }
    Ok(r)
}

#[derive(Debug, Default, Deserialize)]
struct ExpungeReq {
    #[serde(default)]
    uids: Option<Vec<u32>>,
}

/// The optional body of `expunge`: empty, `null` or without `uids` = every
/// `\Deleted` item; `{"uids":[..]}` = only those (UID EXPUNGE).
pub fn expunge(b: &[u8]) -> R<Option<Vec<u32>>> {
    if b.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let r: Option<ExpungeReq> = json(b)?;
    let uids = r.and_then(|r| r.uids);
    if uids.as_ref().is_some_and(|u| u.len() > MAX_ROWS) {
        return Err(bad("too many uids"));
    }
    Ok(uids)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BodiesJson {
    uids: Vec<u32>,
    #[serde(default)]
    part: Option<String>,
}

/// The body of a bulk fetch (`bodies`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodiesReq {
    /// In answer order; duplicates are answered twice.
    pub uids: Vec<u32>,
    /// `"part": "header"`: header blocks instead of whole messages.
    pub header: bool,
}

/// `{"uids":[..], "part"?: "header"}` with at most [`MAX_UIDS`] UIDs.
pub fn bodies(b: &[u8]) -> R<BodiesReq> {
    let r: BodiesJson = json(b)?;
    if r.uids.len() > MAX_UIDS {
        return Err(bad(format!("at most {MAX_UIDS} uids per call")));
    }
    let header = match r.part.as_deref() {
        None => false,
        Some("header") => true,
        Some(_) => return Err(bad("bad part (only \"header\")")),
    };
    Ok(BodiesReq {
        uids: r.uids,
        header,
    })
}

/// `op` of a `flags` call.
pub fn flag_op(op: Option<&str>) -> R<FlagOp> {
    op.and_then(FlagOp::parse)
        .ok_or_else(|| bad("op must be add, remove or replace"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params() {
        assert_eq!(limit(None), Ok(MAX_ROWS));
        assert_eq!(limit(Some("limit=5")), Ok(5));
        assert_eq!(limit(Some("limit=999999999")), Ok(MAX_ROWS));
        assert!(limit(Some("limit=0")).is_err());
        assert_eq!(wait(Some("wait=0")), Ok(None));
        assert_eq!(wait(Some("wait=10")), Ok(Some(Duration::from_secs(10))));
        assert_eq!(
            wait(Some("wait=100000")),
            Ok(Some(Duration::from_secs(MAX_WAIT)))
        );
        assert!(wait(Some("wait=-1")).is_err());
        assert_eq!(fields(Some("fields=uid,flags")), Ok(vec!["uid", "flags"]));
        assert!(fields(Some("fields=uid,body")).is_err());
        assert_eq!(
            flags(Some("flags=%5CSeen+%5CFlagged")),
            ["\\Seen", "\\Flagged"]
        );
        assert_eq!(object_kind(Some("kind=task")), Ok(Some(ItemKind::Task)));
        assert!(object_kind(Some("kind=mail")).is_err());
        assert_eq!(expunge(b""), Ok(None));
        assert_eq!(expunge(b" {} "), Ok(None));
        assert_eq!(expunge(b"null"), Ok(None));
        assert_eq!(expunge(br#"{"uids":null}"#), Ok(None));
        assert_eq!(expunge(br#"{"uids":[]}"#), Ok(Some(vec![])));
        assert_eq!(expunge(br#"{"uids":[3,4]}"#), Ok(Some(vec![3, 4])));
        assert!(expunge(br#"{"uids":[-1]}"#).is_err());
        assert!(bulk(b"[").is_err());
        assert_eq!(flag_op(Some("add")), Ok(FlagOp::Add));
        assert_eq!(
            bodies(br#"{"uids":[3,1,3]}"#),
            Ok(BodiesReq {
                uids: vec![3, 1, 3],
                header: false
            })
        );
        assert!(bodies(br#"{"uids":[1],"part":"header"}"#).unwrap().header);
        assert!(bodies(br#"{"uids":[1],"part":"text"}"#).is_err());
        assert!(bodies(br#"{"part":"header"}"#).is_err());
        assert!(bodies(br#"{"uids":[1],"extra":1}"#).is_err());
        assert!(bodies(b"").is_err());
        let max = format!("{{\"uids\":{:?}}}", vec![1u32; MAX_UIDS]);
        assert_eq!(bodies(max.as_bytes()).unwrap().uids.len(), MAX_UIDS);
        let over = format!("{{\"uids\":{:?}}}", vec![1u32; MAX_UIDS + 1]);
        assert!(bodies(over.as_bytes()).is_err());
    }
}
