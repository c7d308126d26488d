//! MIME structure of raw RFC 5322 messages, for IMAP FETCH: ENVELOPE,
//! BODY/BODYSTRUCTURE and BODY\[section\] extraction. Pure functions over
//! byte slices; see [`part`] for why the splitter is our own.
//!
//! ```text
//! raw bytes ─► part::parse ─► Part tree (byte ranges) ─┬► bodystructure::write
//!                                                      ├► section::extract (+ section::partial)
//! header fields ─► Envelope::from_fields ─► Envelope::serialize
//! ```

pub mod address;
pub mod bodystructure;
pub mod envelope;
pub mod header;
pub mod part;
pub mod section;

pub use envelope::Envelope;

use std::borrow::Cow;

/// Converts bare LF line endings to CRLF, as IMAP requires on the wire and
/// as Dovecot does for messages stored with LF. Sizes, line counts and
/// section bytes are computed on whatever bytes are given, so a session
/// should pass messages through this first; CRLF input is borrowed as is.
pub fn normalize_crlf(msg: &[u8]) -> Cow<'_, [u8]> {
    let bare = msg
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || msg[i - 1] != b'\r'));
    if !bare {
        return Cow::Borrowed(msg);
    }
    let mut out = Vec::with_capacity(msg.len() + msg.len() / 32);
    for (i, &b) in msg.iter().enumerate() {
        if b == b'\n' && (i == 0 || msg[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    Cow::Owned(out)
}
pub use part::{parse, Part, PartKind};
