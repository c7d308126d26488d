//! Calls on many items of a folder at once: flags, copy, move, delete,
//! expunge, and the request of a bulk body fetch (`bodies`, answered in
//! [`crate::frames`]).

use serde::{Deserialize, Serialize};

/// How `POST folders/{id}/flags` combines the given flags with an item's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagOp {
    /// Add the flags.
    Add,
    /// Remove the flags.
    Remove,
    /// Replace all flags by the given ones.
    Replace,
}

impl FlagOp {
    /// The name on the wire (`op` of `POST flags`).
    pub fn as_str(self) -> &'static str {
        match self {
            FlagOp::Add => "add",
            FlagOp::Remove => "remove",
            FlagOp::Replace => "replace",
        }
    }

    /// The inverse of [`as_str`](FlagOp::as_str).
    pub fn parse(s: &str) -> Option<FlagOp> {
        [FlagOp::Add, FlagOp::Remove, FlagOp::Replace]
            .into_iter()
            .find(|op| op.as_str() == s)
    }
}

/// The body of `POST folders/{id}/flags`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagsRequest {
    /// The flags to add, remove or set.
    #[serde(default)]
    pub flags: Vec<String>,
    /// How to combine them; required (the node answers 400 without it).
    #[serde(default)]
    pub op: Option<FlagOp>,
    /// The items; unknown UIDs are skipped.
    #[serde(default)]
    pub uids: Vec<u32>,
}

/// The body of `POST folders/{id}/copy` and `.../move`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRequest {
    /// The destination folder (same store); required.
    #[serde(default)]
    pub dest: Option<i64>,
    /// The items; unknown UIDs are skipped.
    #[serde(default)]
    pub uids: Vec<u32>,
}

/// The body of `POST folders/{id}/delete`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UidsRequest {
    /// The items; unknown UIDs are skipped.
    #[serde(default)]
    pub uids: Vec<u32>,
}

/// The optional body of `POST folders/{id}/expunge`: no body, `null` or no
/// `uids` expunge every `\Deleted` item; a list only those of them (UID EXPUNGE).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpungeRequest {
    /// The items to consider.
    #[serde(default)]
    pub uids: Option<Vec<u32>>,
}

/// Which part of each message a bulk fetch answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyPart {
    /// The header block only (as `GET .../items/{uid}?part=header`).
    Header,
}

/// The body of `POST folders/{id}/bodies` (at most [`crate::frames::MAX_UIDS`] UIDs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodiesRequest {
    /// `None`: whole messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<BodyPart>,
    /// In answer order; a UID listed twice is answered twice.
    pub uids: Vec<u32>,
}

/// An item whose flags changed, with its new change number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UidModseq {
    pub modseq: i64,
    pub uid: u32,
}

/// The answer of `flags`: the items that changed (unchanged ones are not listed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedReply {
    pub changed: Vec<UidModseq>,
}

/// An item's UID in the source folder and in the destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UidMap {
    pub new_uid: u32,
    pub uid: u32,
}

/// The answer of `copy` and `move`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UidMapReply {
    pub uids: Vec<UidMap>,
}

/// The answer of `delete`: the UIDs soft-deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedReply {
    pub deleted: Vec<u32>,
}

/// The answer of `expunge`: the UIDs expunged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpungedReply {
    pub expunged: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::same_bytes;
    use serde_json::json;

    #[test]
    fn flag_ops() {
        for op in [FlagOp::Add, FlagOp::Remove, FlagOp::Replace] {
            assert_eq!(FlagOp::parse(op.as_str()), Some(op));
            assert_eq!(
                serde_json::to_string(&op).unwrap(),
                format!("\"{}\"", op.as_str())
            );
        }
        assert_eq!(FlagOp::parse("set"), None);
    }

    #[test]
    fn requests() {
        let seen = vec!["\\Seen".to_string()];
        same_bytes(
            &FlagsRequest {
                flags: seen.clone(),
                op: Some(FlagOp::Add),
                uids: vec![1, 2],
            },
            json!({"uids": [1, 2], "op": "add", "flags": seen}),
        );
        let r: FlagsRequest = serde_json::from_str(r#"{"uids":[3]}"#).unwrap();
        assert_eq!(r.op, None);
        assert!(serde_json::from_str::<FlagsRequest>(r#"{"op":"set"}"#).is_err());
        same_bytes(
            &CopyRequest {
                dest: Some(4),
                uids: vec![1],
            },
            json!({"uids": [1], "dest": 4}),
        );
        same_bytes(&UidsRequest { uids: vec![5] }, json!({ "uids": [5] }));
        same_bytes(
            &ExpungeRequest {
                uids: Some(vec![5]),
            },
            json!({ "uids": [5] }),
        );
        let e: ExpungeRequest = serde_json::from_str(r#"{"uids":null}"#).unwrap();
        assert_eq!(e.uids, None);
        same_bytes(
            &BodiesRequest {
                part: None,
                uids: vec![3, 1],
            },
            json!({ "uids": [3, 1] }),
        );
        same_bytes(
            &BodiesRequest {
                part: Some(BodyPart::Header),
                uids: vec![3],
            },
            json!({"uids": [3], "part": "header"}),
        );
        assert!(serde_json::from_str::<BodiesRequest>(r#"{"uids":[1],"x":1}"#).is_err());
        assert!(serde_json::from_str::<BodiesRequest>(r#"{"uids":[1],"part":"text"}"#).is_err());
    }

    #[test]
    fn answers() {
        same_bytes(
            &ChangedReply {
                changed: vec![UidModseq { modseq: 9, uid: 1 }],
            },
            json!({"changed": [{"uid": 1, "modseq": 9}]}),
        );
        same_bytes(
            &UidMapReply {
                uids: vec![UidMap { new_uid: 7, uid: 1 }],
            },
            json!({"uids": [{"uid": 1, "new_uid": 7}]}),
        );
        same_bytes(
            &DeletedReply {
                deleted: vec![1, 2],
            },
            json!({"deleted": [1, 2]}),
        );
        same_bytes(&ExpungedReply { expunged: vec![] }, json!({"expunged": []}));
    }
}
