//! Protocol gateways that run beside each node: IMAP and POP3 now, CalDAV
//! and ActiveSync later, all on the store API of kc-server.
//!
//! The protocol codecs (IMAP and POP3 framing, parsers, replies, SASL, the
//! capability lists) are the pure crate kc-mail-proto, shared with the
//! edge. Pure here is [`mime`]: ENVELOPE, BODYSTRUCTURE and
//! BODY\[section\] computed from the raw RFC 5322 bytes of a message.
//!
//! The I/O layer sits on top: [`net`] (connections that upgrade to TLS),
//! [`context`] (what connections share), [`listeners`] (sockets from
//! gateway.cfg, accept loops, drain) and the per-protocol servers
//! ([`imap`], [`pop3`]) that run a session on the node's store API
//! ([`kc_store_api::client`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod context;
pub mod imap;
pub mod listeners;
pub mod mime;
pub mod net;
pub mod pop3;
