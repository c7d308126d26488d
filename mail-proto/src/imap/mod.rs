//! IMAP4rev1 codecs: framing ([`receiver`]), parsing ([`parser`]) into
//! typed commands ([`protocol`]), and reply serialisation ([`response`]),
//! with the string forms they share ([`quote`], [`utf7`]). kc-gateway
//! drives them over a connection and the store; kc-proxy drives the
//! receiver and parser before login.
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
