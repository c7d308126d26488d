//! Folders: `GET folders`, `GET folders/{id}`, `POST folders`, `PATCH folders/{id}`.

use serde::{Deserialize, Serialize};

/// One folder with its counters (`GET folders`, `GET folders/{id}`, and the
/// answer of `POST folders`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderInfo {
    /// Container class such as `IPF.Note`.
    #[serde(default)]
    pub class: Option<String>,
    /// Live item count.
    #[serde(default)]
    pub exists: u32,
    /// Highest change number of any item change in the folder, tombstones
    /// included, or of the folder itself when higher (IMAP HIGHESTMODSEQ).
    #[serde(default)]
    pub highest_modseq: i64,
    /// Folder id.
    pub id: i64,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Parent folder id; `None` for the root.
    #[serde(default)]
    pub parent: Option<i64>,
    /// Role of a standard folder (`inbox`, `sent`, ...).
    #[serde(default)]
    pub role: Option<String>,
    /// Next UID to be given out.
    #[serde(default)]
    pub uid_next: u32,
    /// UIDVALIDITY, fixed at creation.
    #[serde(default)]
    pub uid_validity: u32,
}

/// The body of `POST folders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFolder {
    /// Container class; the node's default when absent.
    #[serde(default)]
    pub class: Option<String>,
    /// Display name.
    pub name: String,
    /// Parent folder id.
    pub parent: i64,
}

/// The body of `PATCH folders/{id}`: a rename and/or a move.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderChange {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New parent folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::same_bytes;
    use serde_json::json;

    #[test]
    fn folder_round_trip() {
        let f = FolderInfo {
            class: Some("IPF.Note".into()),
            exists: 3,
            highest_modseq: 812,
            id: 9,
            name: "Inbox".into(),
            parent: Some(2),
            role: Some("inbox".into()),
            uid_next: 4,
            uid_validity: 77,
        };
        same_bytes(
            &f,
            json!({"id": 9, "parent": 2, "name": "Inbox", "class": "IPF.Note",
                   "role": "inbox", "uid_validity": 77, "uid_next": 4,
                   "highest_modseq": 812, "exists": 3}),
        );
        let root = FolderInfo {
            id: 1,
            ..FolderInfo::default()
        };
        same_bytes(
            &root,
            json!({"id": 1, "parent": null, "name": "", "class": null, "role": null,
                   "uid_validity": 0, "uid_next": 0, "highest_modseq": 0, "exists": 0}),
        );
        // A node that leaves the counters out still reads.
        let f: FolderInfo = serde_json::from_str(r#"{"id":3,"name":"x"}"#).unwrap();
        assert_eq!((f.id, f.exists, f.parent), (3, 0, None));
    }

    #[test]
    fn requests() {
        same_bytes(
            &NewFolder {
                class: Some("IPF.Note".into()),
                name: "A".into(),
                parent: 2,
            },
            json!({"parent": 2, "name": "A", "class": "IPF.Note"}),
        );
        let n: NewFolder = serde_json::from_str(r#"{"parent":2,"name":"A"}"#).unwrap();
        assert_eq!(n.class, None);
        assert!(serde_json::from_str::<NewFolder>(r#"{"name":"A"}"#).is_err());
        same_bytes(
            &FolderChange {
                name: Some("B".into()),
                parent: None,
            },
            json!({"name": "B"}),
        );
        same_bytes(&FolderChange::default(), json!({}));
    }
}
