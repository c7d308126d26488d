//! Pure, fuzzable parsing of store-API query parameters and JSON request
//! bodies. Every function bounds what it accepts; none panics on any input.

use std::time::Duration;

use kc_store_api::frames::MAX_UIDS;
use kc_store_api::wire::{
    BodiesRequest, BodyPart, CopyRequest, ExpungeRequest, FlagOp, FlagsRequest, ItemField,
    UidsRequest,
};
use kc_store_api::MAX_ROWS;
use serde::de::DeserializeOwned;

use super::route::query_param;
use crate::storage::ItemKind;

pub use kc_store_api::MAX_WAIT_SECS as MAX_WAIT;

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
pub fn fields(q: Option<&str>) -> R<Vec<ItemField>> {
    match query_param(q, "fields") {
        None => Ok(ItemField::ALL.to_vec()),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|name| ItemField::parse(name).ok_or_else(|| bad(format!("unknown field {name}"))))
            .collect(),
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
pub fn json<T: DeserializeOwned>(b: &[u8]) -> R<T> {
    serde_json::from_slice(b).map_err(|e| bad(format!("bad request: {e}")))
}

/// At most [`MAX_ROWS`] UIDs in one bulk call.
fn check_uids(uids: &[u32]) -> R<()> {
    if uids.len() > MAX_ROWS {
        return Err(bad("too many uids"));
    }
    Ok(())
}

/// The body of `flags`.
pub fn flags_request(b: &[u8]) -> R<FlagsRequest> {
    let r: FlagsRequest = json(b)?;
    check_uids(&r.uids)?;
    Ok(r)
}

/// The body of `copy` and `move`.
pub fn copy_request(b: &[u8]) -> R<CopyRequest> {
    let r: CopyRequest = json(b)?;
    check_uids(&r.uids)?;
    Ok(r)
}

/// The body of `delete`.
pub fn uids_request(b: &[u8]) -> R<UidsRequest> {
    let r: UidsRequest = json(b)?;
    check_uids(&r.uids)?;
    Ok(r)
}

/// The optional body of `expunge`: empty, `null` or without `uids` = every
/// `\Deleted` item; `{"uids":[..]}` = only those (UID EXPUNGE).
pub fn expunge(b: &[u8]) -> R<Option<Vec<u32>>> {
    if b.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let r: Option<ExpungeRequest> = json(b)?;
    let uids = r.and_then(|r| r.uids);
    if let Some(u) = &uids {
        check_uids(u)?;
    }
    Ok(uids)
}

/// A bulk fetch (`bodies`) as the node runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bodies {
    /// In answer order; duplicates are answered twice.
    pub uids: Vec<u32>,
    /// `"part": "header"`: header blocks instead of whole messages.
    pub header: bool,
}

/// `{"uids":[..], "part"?: "header"}` with at most [`MAX_UIDS`] UIDs.
pub fn bodies(b: &[u8]) -> R<Bodies> {
    let r: BodiesRequest = json(b)?;
    if r.uids.len() > MAX_UIDS {
        return Err(bad(format!("at most {MAX_UIDS} uids per call")));
    }
    Ok(Bodies {
        uids: r.uids,
        header: r.part == Some(BodyPart::Header),
    })
}

/// `op` of a `flags` call (required).
pub fn flag_op(op: Option<FlagOp>) -> R<FlagOp> {
    op.ok_or_else(|| bad("op must be add, remove or replace"))
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
        assert_eq!(
            fields(Some("fields=uid,flags")),
            Ok(vec![ItemField::Uid, ItemField::Flags])
        );
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
        assert!(flags_request(b"[").is_err());
        assert!(copy_request(b"[").is_err());
        assert!(uids_request(b"[").is_err());
        let r = flags_request(br#"{"uids":[1],"op":"add","flags":["\\Seen"]}"#).unwrap();
        assert_eq!(flag_op(r.op), Ok(FlagOp::Add));
        assert!(flag_op(flags_request(br#"{"uids":[1]}"#).unwrap().op).is_err());
        assert!(flags_request(br#"{"op":"set"}"#).is_err());
        assert_eq!(copy_request(br#"{"uids":[1]}"#).unwrap().dest, None);
        let many = format!("{{\"uids\":{:?}}}", vec![1u32; MAX_ROWS + 1]);
        assert!(uids_request(many.as_bytes()).is_err());
        assert!(expunge(many.as_bytes()).is_err());
        assert_eq!(
            bodies(br#"{"uids":[3,1,3]}"#),
            Ok(Bodies {
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
