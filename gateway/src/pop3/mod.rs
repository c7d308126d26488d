//! POP3 (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034): line
//! framing and command parsing ([`parser`]), replies, CAPA and
//! byte-stuffing ([`response`]), all pure and I/O-free; the session on a
//! socket and the store API is [`server`].
//!
//! ```text
//! socket bytes ─► LineReceiver::feed/next_line ─► parser::parse_command ─► Command
//! Response::serialize / dot_stuff ─► socket bytes
//! ```

pub mod lock;
pub mod parser;
pub mod response;
pub mod server;
