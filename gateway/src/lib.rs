//! Protocol gateways that run beside each node: IMAP and POP3 now, CalDAV
//! and ActiveSync later, all on the store API of kc-server.
//!
//! This crate currently holds the pure protocol layer, which does no I/O:
//!
//! - [`imap`]: command receiver (literals, pipelining, limits), parser into
//!   typed commands, modified UTF-7, typed responses and their serialiser;
//! - [`mime`]: ENVELOPE, BODYSTRUCTURE and BODY\[section\] computed from the
//!   raw RFC 5322 bytes of a message;
//! - [`pop3`]: command parser, response serialiser, byte-stuffing.
//!
//! Sessions (sockets, TLS, the store client) will sit on top of these
//! modules and are not part of this layer: nothing here imports tokio or a
//! socket type, so every parser can be fuzzed and unit-tested alone.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod imap;
pub mod mime;
pub mod pop3;
pub mod sasl;
