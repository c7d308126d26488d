//! The mail protocols as pure codecs: bytes in, typed values out, typed
//! replies back to bytes. No sockets, no async runtime, no clock, so every
//! part can be unit-tested alone and fuzzed (`fuzz/`).
//!
//! - [`imap`]: the command receiver (framing with literals and limits), the
//!   parser into typed commands, the response serialiser, quoting and
//!   modified UTF-7;
//! - [`pop3`]: line framing, the command parser, replies and byte-stuffing;
//! - [`sasl`]: SASL PLAIN, for IMAP AUTHENTICATE and POP3 AUTH;
//! - [`capability`]: the IMAP and POP3 capability lists, defined once.
//!
//! Two programs use this crate. kc-gateway runs the IMAP and POP3 sessions
//! on the store API beside each node; kc-proxy, the edge, answers the
//! pre-login dialogue itself with the same receiver, parsers and lists,
//! then relays the login to the user's gateway. Keeping the codecs here is
//! what stops the two sides from drifting apart.
//!
//! The protocols still to come follow the same shape, one pure and fuzzable
//! crate per protocol family beside this one, with the I/O server in
//! kc-gateway and the routing in kc-proxy: `dav-proto/` for CalDAV and
//! CardDAV (WebDAV XML requests and multistatus replies, the
//! iCalendar/vCard glue) and `eas-proto/` for ActiveSync (WBXML and the EAS
//! commands).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod capability;
pub mod imap;
pub mod pop3;
pub mod sasl;
