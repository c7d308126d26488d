//! Every JSON shape of the store API as one serde type, written by the node
//! and read by the client (and the other way round for request bodies).
//!
//! Field order is the order on the wire: answers list their fields
//! alphabetically (as the node has always sent them), change-log lines and
//! listing rows in their documented order. Unknown fields are ignored when
//! reading, and optional ones default, so either side may add a field.

mod account;
mod bulk;
mod changes;
mod errors;
mod folders;
mod items;

pub use account::{QuotaInfo, QuotaLevel, UserInfo};
pub use bulk::{
    BodiesRequest, BodyPart, ChangedReply, CopyRequest, DeletedReply, ExpungeRequest,
    ExpungedReply, FlagOp, FlagsRequest, UidMap, UidMapReply, UidModseq, UidsRequest,
};
pub use changes::{Change, ModseqReply};
pub use errors::{ErrorBody, ErrorDetail, RedirectBody};
pub use folders::{FolderChange, FolderInfo, NewFolder};
pub use items::{Appended, ItemField, ItemInfo, ObjectWritten};

#[cfg(test)]
pub(crate) mod test_util {
    use serde::{de::DeserializeOwned, Serialize};

    /// `value` as the node sends it equals `legacy` (the bytes of the former
    /// hand-written answer) and reads back as itself.
    pub fn same_bytes<T>(value: &T, legacy: serde_json::Value)
    where
        T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let sent = serde_json::to_vec(value).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&sent),
            serde_json::to_string(&legacy).unwrap()
        );
        let back: T = serde_json::from_slice(&sent).unwrap();
        assert_eq!(&back, value);
    }
}
