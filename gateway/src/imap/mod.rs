//! IMAP4rev1 server: [`server`] (with the private `session` module and
//! [`notify`]) drives the pure protocol layer of kc-mail-proto over a
//! connection and the store.
//!
//! The codecs ([`receiver`], [`parser`], [`protocol`], [`response`],
//! [`quote`], [`utf7`]) live in `kc_mail_proto::imap`, shared with the
//! edge; they are re-exported here so the session code names them as
//! `crate::imap::...`.
//!
//! ```text
//! socket bytes ─► Receiver::feed/next_event ─► RawCommand ─► parser::parse_command ─► Request
//!                       └─ Event::Continue ("+ ") / Event::Error (tagged BAD / NO [TOOBIG])
//! Response ─► Response::serialize ─► socket bytes
//! ```

pub use kc_mail_proto::imap::{parser, protocol, quote, receiver, response, utf7};

pub mod notify;
pub mod server;
pub(crate) mod session;
