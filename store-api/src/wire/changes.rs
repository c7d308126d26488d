//! The change log (`GET changes`, JSON lines) and the change-number answer
//! of single writes.

use serde::{Deserialize, Serialize};

/// One entry of the change log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Change number (store-independent, strictly increasing).
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
    /// `new`, `modify`, `flags`, `rename`, `move` or `delete` (a tombstone;
    /// a moved item leaves a `delete` for its old folder and UID).
    #[serde(default)]
    pub change_type: String,
    /// Unix time of the change.
    #[serde(default)]
    pub at: i64,
}

/// The answer of a folder update or delete and of a groupware delete.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModseqReply {
    pub modseq: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::same_bytes;
    use serde_json::json;

    #[test]
    fn change_lines() {
        let line = r#"{"modseq":812,"object_type":"item","object_id":44,"folder_id":9,"uid":3,"change_type":"flags","at":1795000000}"#;
        let c: Change = serde_json::from_str(line).unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), line);
        assert_eq!((c.uid, c.folder_id), (Some(3), Some(9)));
        let folder: Change =
            serde_json::from_str(r#"{"modseq":5,"object_type":"folder","uid":null}"#).unwrap();
        assert_eq!((folder.uid, folder.at), (None, 0));
        same_bytes(&ModseqReply { modseq: 5 }, json!({ "modseq": 5 }));
    }
}
