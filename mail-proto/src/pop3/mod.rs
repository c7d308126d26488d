//! POP3 codecs (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034):
//! line framing and command parsing ([`parser`]); replies, CAPA and
//! byte-stuffing ([`response`]). kc-gateway runs the session on them;
//! kc-proxy parses the pre-login commands with the same parser.
//!
//! ```text
//! socket bytes ─► LineReceiver::feed/next_line ─► parser::parse_command ─► Command
//! Response::serialize / dot_stuff ─► socket bytes
//! ```

pub mod parser;
pub mod response;
