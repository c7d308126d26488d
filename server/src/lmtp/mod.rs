//! LMTP delivery (RFC 2033), the part of KC's `kopano-dagent` that kc runs
//! inside the store node: the MTA hands over each message once with its
//! list of local recipients (single-instance storage, KC manual §6.4.1) on
//! the `lmtp_listen` sockets, TCP or `unix:/path` (manual §5.11.1).
//!
//! Layers, each usable alone:
//! - [`parser`]: one command line to a typed [`parser::Command`] (pure);
//! - [`data`]: the DATA body: dot-unstuffing, terminator, size limit (pure);
//! - [`reply`]: replies with enhanced status codes;
//! - [`session`]: the protocol state machine over bytes, no sockets;
//! - [`delivery`]: the [`Delivery`] trait the store implements;
//! - [`spool`]: bodies in memory or, when large, in a temporary file;
//! - [`server`]: listeners and per-connection tasks (tokio).

pub mod data;
pub mod delivery;
pub mod parser;
pub mod reply;
pub mod server;
pub mod session;
pub mod spool;

pub use delivery::{AcceptedRecipient, Delivery, Envelope, RecipientCheck, RecipientOutcome};
pub use parser::{Mailbox, ReversePath};
pub use server::{serve, serve_connection, LmtpConfig, LmtpListener};
pub use session::{Flow, Session, SessionConfig};
pub use spool::Message;
