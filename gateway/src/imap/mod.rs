//! IMAP4rev1 protocol layer: framing ([`receiver`]), parsing ([`parser`])
//! into typed commands ([`protocol`]), and reply serialisation
//! ([`response`]) are pure and I/O-free; [`server`] (with the private
//! `session` module and [`notify`]) drives them over a connection and the
//! store.
//!
//! ```text
//! socket bytes ─► Receiver::feed/next_event ─► RawCommand ─► parser::parse_command ─► Request
//!                       └─ Event::Continue ("+ ") / Event::Error (tagged BAD / NO [TOOBIG])
//! Response ─► Response::serialize ─► socket bytes
//! ```

pub mod notify;
pub mod parser;
pub mod protocol;
pub mod quote;
pub mod receiver;
pub mod response;
pub mod server;
pub(crate) mod session;
pub mod utf7;
