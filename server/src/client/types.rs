//! The JSON shapes of the store API (`server/API.md`) as the client sees them,
//! and the pure helpers that build paths and parse answers.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ClientError;

/// One folder (`GET folders`, `GET folders/{id}`). `highest_modseq` and
/// `exists` are only filled by the single-folder answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct FolderInfo {
    /// Folder id.
    pub id: i64,
    /// Parent folder id; `None` for the root.
    #[serde(default)]
    pub parent: Option<i64>,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Container class such as `IPF.Note`.
    #[serde(default)]
    pub class: Option<String>,
    /// Role of a standard folder (`inbox`, `sent`, ...).
    #[serde(default)]
    pub role: Option<String>,
    /// UIDVALIDITY.
    #[serde(default)]
    pub uid_validity: u32,
    /// Next UID to be given out.
    #[serde(default)]
    pub uid_next: u32,
    /// Highest change number of the folder's items.
    #[serde(default)]
    pub highest_modseq: i64,
    /// Live item count.
    #[serde(default)]
    pub exists: u32,
}

/// A listing of a folder's items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// `Kc-Uid-Validity`.
    pub uid_validity: u32,
    /// `Kc-Uid-Next`: every listed UID is below it.
    pub uid_next: u32,
    /// The items by ascending UID.
    pub items: Vec<ItemInfo>,
}

/// One listed item; fields that were not requested keep their default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ItemInfo {
    /// UID in the folder.
    pub uid: u32,
    /// Size of the raw message in bytes.
    pub size: i64,
    /// IMAP flags (`\Seen`, keywords).
    pub flags: Vec<String>,
    /// Unix time of arrival.
    pub internal_date: i64,
    /// Change number of the last change.
    pub modseq: i64,
    /// SHA-256 of the body (hex).
    pub etag: String,
    /// iCalendar/vCard UID of groupware objects.
    pub obj_uid: Option<String>,
}

/// The answer to an append.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Appended {
    /// UID of the new item.
    pub uid: u32,
    /// Its change number.
    pub modseq: i64,
}

/// How `set_flags` combines the given flags: the store's own type, whose
/// `as_str` is the wire name.
pub use crate::storage::FlagOp;

/// One entry of the change log (`GET changes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Change {
    /// Change number.
    pub modseq: i64,
    /// `item` or `folder`.
    #[serde(default)]
    pub object_type: String,
    /// Item or folder id.
    #[serde(default)]
    pub object_id: i64,
    /// Folder of an item; the (new) parent of a folder.
    #[serde(default)]
    pub folder_id: Option<i64>,
    /// UID of an item.
    #[serde(default)]
    pub uid: Option<u32>,
    /// `new`, `modify`, `flags`, `rename`, `move` or `delete`.
    #[serde(default)]
    pub change_type: String,
}

/// The session user (`GET user`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UserInfo {
    /// Login name.
    pub login: String,
    /// Full name.
    pub fullname: String,
    /// Primary e-mail address.
    pub email: String,
    /// Other addresses.
    pub aliases: Vec<String>,
    /// Feature name (`imap`, `pop3`, ...) to enabled.
    pub features: BTreeMap<String, bool>,
    /// Whether the user is an administrator.
    pub admin: bool,
}

impl UserInfo {
    /// Whether `feature` is enabled; a feature the server does not list counts as enabled
    /// (KC's default for `imap` and `pop3` without `disabled_features`).
    pub fn feature(&self, feature: &str) -> bool {
        self.features.get(feature).copied().unwrap_or(true)
    }
}

/// Quota state of the store (`GET quota`), bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct QuotaInfo {
    /// Bytes stored.
    pub size: i64,
    /// Warning limit (0 = none).
    pub warn: i64,
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
    /// `ok`, `warn`, `soft` or `hard`.
    pub level: String,
}

#[derive(Deserialize)]
pub(super) struct ModseqReply {
    pub modseq: i64,
}

#[derive(Deserialize)]
pub(super) struct ChangedReply {
    pub changed: Vec<UidModseq>,
}

#[derive(Deserialize)]
pub(super) struct UidModseq {
    pub uid: u32,
    pub modseq: i64,
}

#[derive(Deserialize)]
pub(super) struct UidMapReply {
    pub uids: Vec<UidMap>,
}

#[derive(Deserialize)]
pub(super) struct UidMap {
    pub uid: u32,
    pub new_uid: u32,
}

#[derive(Deserialize)]
pub(super) struct DeletedReply {
    pub deleted: Vec<u32>,
}

#[derive(Deserialize)]
pub(super) struct ExpungedReply {
    pub expunged: Vec<u32>,
}

/// Parses a JSON answer.
pub fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Protocol(format!("bad JSON answer: {e}")))
}

/// Parses a JSON-lines answer (listings, changes); blank lines are skipped.
pub fn parse_ndjson<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<Vec<T>, ClientError> {
    body.split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .map(parse_json)
        .collect()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The query of an append: flags space-separated, optional internal date.
pub fn append_query(flags: &[String], internal_date: Option<i64>) -> String {
    let mut q = Vec::new();
    if !flags.is_empty() {
        q.push(format!("flags={}", percent_encode(&flags.join(" "))));
    }
    if let Some(d) = internal_date {
        q.push(format!("internal_date={d}"));
    }
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

/// The query of a listing.
pub fn list_query(after_uid: u32, limit: u32, fields: &[&str]) -> String {
    let mut q = format!("?after_uid={after_uid}");
    if limit > 0 {
        q.push_str(&format!("&limit={limit}"));
    }
    if !fields.is_empty() {
        let f: Vec<String> = fields.iter().map(|f| percent_encode(f)).collect();
        q.push_str(&format!("&fields={}", f.join(",")));
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        assert_eq!(
            append_query(&["\\Seen".into(), "$Work".into()], Some(7)),
            "?flags=%5CSeen%20%24Work&internal_date=7"
        );
        assert_eq!(append_query(&[], None), "");
        assert_eq!(
            list_query(3, 10, &["uid", "size"]),
            "?after_uid=3&limit=10&fields=uid,size"
        );
        assert_eq!(list_query(0, 0, &[]), "?after_uid=0");
        assert_eq!(percent_encode("a b@c/ü"), "a%20b%40c%2F%C3%BC");
    }

    #[test]
    fn answers() {
        let items: Vec<ItemInfo> = parse_ndjson(
            b"{\"uid\":1,\"size\":120,\"flags\":[\"\\\\Seen\"]}\n\n{\"uid\":2,\"size\":7,\"etag\":\"ab\"}\n",
        )
        .unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].flags, vec!["\\Seen".to_string()]);
        assert_eq!(items[1].etag, "ab");
        assert_eq!(items[1].modseq, 0);
        assert!(parse_ndjson::<ItemInfo>(b"{\"uid\":1}\n{bad").is_err());
        let f: Vec<FolderInfo> = parse_json(
            br#"[{"id":3,"parent":null,"name":"Inbox","class":"IPF.Note","role":"inbox","uid_validity":9,"uid_next":4}]"#,
        )
        .unwrap();
        assert_eq!(f[0].role.as_deref(), Some("inbox"));
        assert_eq!(f[0].parent, None);
        let u: UserInfo = parse_json(
            br#"{"login":"a","fullname":"A","email":"a@x","aliases":[],"features":{"imap":true,"pop3":false},"admin":false}"#,
        )
        .unwrap();
        assert!(u.feature("imap") && !u.feature("pop3") && u.feature("mobile"));
        let c: Vec<Change> = parse_ndjson(
            br#"{"modseq":812,"object_type":"item","object_id":44,"folder_id":9,"uid":3,"change_type":"flags","at":1795000000}"#,
        )
        .unwrap();
        assert_eq!(c[0].uid, Some(3));
    }
}
