//! Protocol gateways that run beside each node: IMAP and POP3 now, CalDAV
//! and ActiveSync later, all on the store API of kc-server.
//!
//! The pure protocol layer does no I/O:
//!
//! - [`imap`]: command receiver (literals, pipelining, limits), parser into
//!   typed commands, modified UTF-7, typed responses and their serialiser;
//! - [`mime`]: ENVELOPE, BODYSTRUCTURE and BODY\[section\] computed from the
//!   raw RFC 5322 bytes of a message;
//! - [`pop3`]: command parser, response serialiser, byte-stuffing.
//!
//! The parsers import no tokio or socket type, so each can be fuzzed and
//! unit-tested alone. The I/O layer sits on top: [`net`] (connections that
//! upgrade to TLS), [`context`] (what connections share), [`listeners`]
//! (sockets from gateway.cfg, accept loops, drain) and the per-protocol
//! `server` modules that run a session on the node's store API
//! ([`kc_server::client`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod context;
pub mod imap;
pub mod listeners;
pub mod mime;
pub mod net;
pub mod pop3;
pub mod sasl;
