//! Items: listing rows (`GET folders/{id}/items`), appends and groupware writes.

use serde::{Deserialize, Serialize};

/// A field a listing may select (`fields=` query parameter, comma-separated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemField {
    Id,
    Uid,
    Kind,
    ObjUid,
    Etag,
    Size,
    Flags,
    InternalDate,
    Date,
    From,
    To,
    Subject,
    MessageId,
    Modseq,
}

impl ItemField {
    /// Every field, in the order of a listing without `fields=`.
    pub const ALL: [ItemField; 14] = [
        ItemField::Id,
        ItemField::Uid,
        ItemField::Kind,
        ItemField::ObjUid,
        ItemField::Etag,
        ItemField::Size,
        ItemField::Flags,
        ItemField::InternalDate,
        ItemField::Date,
        ItemField::From,
        ItemField::To,
        ItemField::Subject,
        ItemField::MessageId,
        ItemField::Modseq,
    ];

    /// The field's name on the wire (in `fields=` and as the JSON key).
    pub fn name(self) -> &'static str {
        match self {
            ItemField::Id => "id",
            ItemField::Uid => "uid",
            ItemField::Kind => "kind",
            ItemField::ObjUid => "obj_uid",
            ItemField::Etag => "etag",
            ItemField::Size => "size",
            ItemField::Flags => "flags",
            ItemField::InternalDate => "internal_date",
            ItemField::Date => "date",
            ItemField::From => "from",
            ItemField::To => "to",
            ItemField::Subject => "subject",
            ItemField::MessageId => "message_id",
            ItemField::Modseq => "modseq",
        }
    }

    /// The inverse of [`name`](ItemField::name).
    pub fn parse(name: &str) -> Option<ItemField> {
        ItemField::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// One listed item. A listing carries only the selected fields; the others
/// keep their defaults when read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemInfo {
    /// Item id (store-wide).
    pub id: i64,
    /// UID in the folder.
    pub uid: u32,
    /// `mail`, `calendar`, `contact` or `task`.
    pub kind: String,
    /// iCalendar/vCard UID of groupware objects.
    pub obj_uid: Option<String>,
    /// SHA-256 of the body (hex).
    pub etag: String,
    /// Size of the raw message in bytes.
    pub size: i64,
    /// IMAP flags (`\Seen`, keywords), sorted.
    pub flags: Vec<String>,
    /// Unix time of arrival.
    pub internal_date: i64,
    /// The `Date:` header as a Unix time.
    pub date: Option<i64>,
    /// The first `From:` address.
    pub from: String,
    /// All `To:` addresses, comma-separated.
    pub to: String,
    /// The subject, decoded (RFC 2047).
    pub subject: String,
    /// The `Message-ID:` header.
    pub message_id: String,
    /// Change number of the last change.
    pub modseq: i64,
}

impl ItemInfo {
    /// Appends one listing line: a JSON object with `fields` in that order,
    /// then a newline. Keys are the [`ItemField`] names, values go through
    /// serde exactly as the whole struct would serialize them.
    pub fn write_line(&self, fields: &[ItemField], out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, &f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Field names are plain ASCII identifiers.
            out.push(b'"');
            out.extend_from_slice(f.name().as_bytes());
            out.extend_from_slice(b"\":");
            let w = &mut *out;
            let written = match f {
                ItemField::Id => serde_json::to_writer(w, &self.id),
                ItemField::Uid => serde_json::to_writer(w, &self.uid),
                ItemField::Kind => serde_json::to_writer(w, &self.kind),
                ItemField::ObjUid => serde_json::to_writer(w, &self.obj_uid),
                ItemField::Etag => serde_json::to_writer(w, &self.etag),
                ItemField::Size => serde_json::to_writer(w, &self.size),
                ItemField::Flags => serde_json::to_writer(w, &self.flags),
                ItemField::InternalDate => serde_json::to_writer(w, &self.internal_date),
                ItemField::Date => serde_json::to_writer(w, &self.date),
                ItemField::From => serde_json::to_writer(w, &self.from),
                ItemField::To => serde_json::to_writer(w, &self.to),
                ItemField::Subject => serde_json::to_writer(w, &self.subject),
                ItemField::MessageId => serde_json::to_writer(w, &self.message_id),
                ItemField::Modseq => serde_json::to_writer(w, &self.modseq),
            };
            if written.is_err() {
                out.extend_from_slice(b"null");
            }
        }
        out.extend_from_slice(b"}\n");
    }
}

/// The answer of an append (`POST folders/{id}/items`, 201).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    /// Item id of the new message.
    #[serde(default)]
    pub id: i64,
    /// Its change number.
    pub modseq: i64,
    /// Its UID in the folder.
    pub uid: u32,
}

/// The answer of a groupware write (`PUT folders/{id}/objects/{uid}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectWritten {
    /// The new ETag (also in the `ETag` header).
    pub etag: String,
    /// Its change number.
    pub modseq: i64,
    /// The item's UID in the folder.
    pub uid: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::same_bytes;
    use serde_json::json;

    fn item() -> ItemInfo {
        ItemInfo {
            id: 44,
            uid: 3,
            kind: "mail".into(),
            obj_uid: None,
            etag: "ab".into(),
            size: 120,
            flags: vec!["\\Seen".into()],
            internal_date: 1_795_000_000,
            date: Some(1_794_999_000),
            from: "a@x".into(),
            to: "b@x, c@x".into(),
            subject: "Hi \"there\"".into(),
            message_id: "<m@x>".into(),
            modseq: 812,
        }
    }

    #[test]
    fn field_names_are_the_struct_keys() {
        let v = serde_json::to_value(item()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut names: Vec<&str> = ItemField::ALL.iter().map(|f| f.name()).collect();
        names.sort_unstable();
        assert_eq!(keys, names);
        for f in ItemField::ALL {
            assert_eq!(ItemField::parse(f.name()), Some(f));
        }
        assert_eq!(ItemField::parse("body"), None);
    }

    #[test]
    fn listing_lines_round_trip() {
        let it = item();
        // All fields: the same bytes as the struct, and read back whole.
        let mut all = Vec::new();
        it.write_line(&ItemField::ALL, &mut all);
        let mut whole = serde_json::to_vec(&it).unwrap();
        whole.push(b'\n');
        assert_eq!(
            String::from_utf8_lossy(&all),
            String::from_utf8_lossy(&whole)
        );
        let back: ItemInfo = serde_json::from_slice(&all).unwrap();
        assert_eq!(back, it);
        // A selection keeps the requested order; the rest defaults.
        let mut some = Vec::new();
        it.write_line(
            &[ItemField::Flags, ItemField::Uid, ItemField::ObjUid],
            &mut some,
        );
        assert_eq!(
            some,
            b"{\"flags\":[\"\\\\Seen\"],\"uid\":3,\"obj_uid\":null}\n"
        );
        let back: ItemInfo = serde_json::from_slice(&some).unwrap();
        assert_eq!((back.uid, back.flags.len(), back.size), (3, 1, 0));
        let mut none = Vec::new();
        it.write_line(&[], &mut none);
        assert_eq!(none, b"{}\n");
    }

    #[test]
    fn write_answers() {
        same_bytes(
            &Appended {
                id: 7,
                modseq: 9,
                uid: 2,
            },
            json!({"id": 7, "uid": 2, "modseq": 9}),
        );
        let a: Appended = serde_json::from_str(r#"{"uid":2,"modseq":9}"#).unwrap();
        assert_eq!((a.id, a.uid), (0, 2));
        same_bytes(
            &ObjectWritten {
                etag: "e1".into(),
                modseq: 5,
                uid: 1,
            },
            json!({"uid": 1, "modseq": 5, "etag": "e1"}),
        );
    }
}
