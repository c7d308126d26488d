//! POP3 server (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034):
//! the session on a socket and the store API is [`server`], with the
//! maildrop [`lock`] and the [`top`] extract. The codecs ([`parser`],
//! [`response`]) live in `kc_mail_proto::pop3`, shared with the edge, and
//! are re-exported here.
//!
//! ```text
//! socket bytes ─► LineReceiver::feed/next_line ─► parser::parse_command ─► Command
//! Response::serialize / dot_stuff ─► socket bytes
//! ```

pub use kc_mail_proto::pop3::{parser, response};

pub mod lock;
pub mod server;
pub mod top;
