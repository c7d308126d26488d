//! Pure helpers of the client: request paths and queries, and the reading
//! of JSON and JSON-lines answers into the [`crate::wire`] types.

use serde::de::DeserializeOwned;

use super::ClientError;

/// Parses a JSON answer.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Protocol(format!("bad JSON answer: {e}")))
}

/// Parses a JSON-lines answer (listings, changes); blank lines are skipped.
pub fn parse_ndjson<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, ClientError> {
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
    use crate::wire::{Change, FolderInfo, ItemInfo, UserInfo};

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
