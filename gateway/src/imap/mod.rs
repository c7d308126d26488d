//! IMAP4rev1 protocol layer: framing ([`receiver`]), parsing ([`parser`])
//! into typed commands ([`protocol`]), and reply serialisation
//! ([`response`]). Pure and I/O-free; the session that drives it lives
//! elsewhere.
//!
//! ```text
//! socket bytes ─► Receiver::feed/next_event ─► RawCommand ─► parser::parse_command ─► Request
//!                       └─ Event::Continue ("+ ") / Event::Error (tagged BAD / NO [TOOBIG])
//! Response ─► Response::serialize ─► socket bytes
//! ```

pub mod parser;
pub mod protocol;
pub mod quote;
pub mod receiver;
pub mod response;
pub mod utf7;
