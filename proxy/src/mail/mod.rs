//! IMAP and POP3 in front of the nodes.
//!
//! The edge answers the client itself until it has credentials (greeting,
//! CAPABILITY/CAPA, STARTTLS/STLS, ID, NOOP, LOGOUT/QUIT; LOGIN,
//! `AUTHENTICATE PLAIN` with and without SASL-IR, USER/PASS, `AUTH PLAIN`),
//! looks up the user's home node in the directory, connects to that node's
//! gateway, hands it the client's address (IMAP `ID x-originating-ip`, POP3
//! `XCLIENT`), replays the login, and from then on relays bytes both ways.
//! perdition and nginx's mail proxy work the same way.
//!
//! The codecs are kc-mail-proto's, shared with kc-gateway: the IMAP
//! receiver and parser, the POP3 parser, SASL PLAIN and the capability
//! lists (the edge announces the gateway's lists from the same function).
//!
//! ```text
//! listener ─► imap_session / pop3_session ─► login (throttle, route, upstream) ─► relay
//!   └ preauth (per-address cap)   └ imap_preauth / pop3_preauth (what the edge serves)
//! ```
//!
//! Pure, fuzzable parts: [`line`], [`imap_preauth`], [`pop3_preauth`],
//! [`credentials`], [`throttle`], [`preauth`], [`route`]'s node choice and
//! the reply parsing in [`upstream`]. I/O: [`listener`] (sockets, accept,
//! implicit TLS), [`session`] (what both pre-login dialogues share),
//! [`imap_session`], [`pop3_session`], [`login`] (throttle, route and
//! replay a login), [`upstream`] (the node side of the login), [`relay`],
//! [`stream`].

pub mod credentials;
pub mod imap_preauth;
pub mod imap_session;
pub mod line;
pub mod listener;
pub mod login;
pub mod pop3_preauth;
pub mod pop3_session;
pub mod preauth;
pub mod relay;
pub mod route;
pub mod session;
pub mod stream;
pub mod throttle;
pub mod upstream;

pub use credentials::Credentials;

use std::time::Duration;

use crate::mail::throttle::ThrottleConfig;

/// The mail protocol of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// IMAP4rev1.
    Imap,
    /// POP3.
    Pop3,
}

impl Protocol {
    /// Lower-case name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
        }
    }

    /// The TLS ALPN identifier (RFC 7301 registry; ALPACA mitigation).
    pub fn alpn(self) -> &'static [u8] {
        match self {
            Protocol::Imap => b"imap",
            Protocol::Pop3 => b"pop3",
        }
    }
}

/// How the edge talks to a node's mail gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamTls {
    /// Plain TCP (the internal network is trusted).
    Plain,
    /// STARTTLS/STLS right after the greeting, verified with the upstream CA.
    StartTls,
    /// TLS from the first byte, verified with the upstream CA.
    Implicit,
}

/// Mail proxy behaviour, read once at start-up.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// Port of the IMAP gateway on each node (`node_imap_port`).
    pub node_imap_port: u16,
    /// Port of the POP3 gateway on each node (`node_pop3_port`).
    pub node_pop3_port: u16,
    /// Connection set-up limit towards a node, TLS included
    /// (`upstream_connect_timeout`).
    pub connect_timeout: Duration,
    /// Longest wait for one node reply during the login dialogue.
    pub login_timeout: Duration,
    /// Longest wait for a complete client command before login
    /// (`client_header_timeout`).
    pub command_timeout: Duration,
    /// Longest time a client may stay connected without logging in.
    pub preauth_limit: Duration,
    /// Whether passwords may be sent before TLS is active.
    pub plaintext_auth: bool,
    /// Transport to the nodes' gateways.
    pub upstream_tls: UpstreamTls,
    /// Failed-login throttling.
    pub throttle: ThrottleConfig,
    /// Invalid commands tolerated before login, then the connection closes.
    pub max_bad_commands: u32,
    /// Connections per client address (IPv6 /64) that have not logged in
    /// yet; 0 = no limit (`mail_max_preauth_per_ip`).
    pub max_preauth_per_ip: usize,
    /// IMAP framing limits before login.
    pub imap_limits: kc_mail_proto::imap::receiver::Limits,
    /// Whether the nodes' gateways offer IDLE (their
    /// `imap_capability_idle`): the edge announces the gateway's list.
    pub imap_idle: bool,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            node_imap_port: 143,
            node_pop3_port: 110,
            connect_timeout: Duration::from_secs(5),
            login_timeout: LOGIN_TIMEOUT,
            command_timeout: Duration::from_secs(60),
            preauth_limit: PREAUTH_LIMIT,
            plaintext_auth: PLAINTEXT_AUTH,
            upstream_tls: UPSTREAM_TLS,
            throttle: ThrottleConfig::default(),
            max_bad_commands: MAX_BAD_COMMANDS,
            max_preauth_per_ip: 50,
            imap_limits: imap_preauth::LIMITS,
            imap_idle: GATEWAY_IDLE,
        }
    }
}

/// Node reply wait during login (no proxy.cfg option yet).
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed before login, however busy the client keeps the connection
/// (trickling bytes would otherwise reset the per-read timeout forever).
pub const PREAUTH_LIMIT: Duration = Duration::from_secs(600);
/// Passwords before TLS (no proxy.cfg option yet): never, as a DMZ edge.
pub const PLAINTEXT_AUTH: bool = false;
/// Transport to the gateways (no proxy.cfg option yet).
pub const UPSTREAM_TLS: UpstreamTls = UpstreamTls::Plain;
/// The gateways' `imap_capability_idle` default (no proxy.cfg option yet).
pub const GATEWAY_IDLE: bool = true;
/// Invalid commands before the edge gives up on a client (Dovecot uses 10).
pub const MAX_BAD_COMMANDS: u32 = 10;

#[cfg(test)]
mod tests {
    use super::credentials::from_plain;
    use super::imap_preauth::parse;
    use super::pop3_preauth;
    use kc_mail_proto::imap::receiver::{Event, Limits, Receiver};

    /// A cheap stand-in for the fuzz targets in `cargo test`: mutated
    /// dialogues, framed in odd chunk sizes, never panic and stay in bounds.
    #[test]
    fn mutated_dialogues_never_panic() {
        let seeds: [&[u8]; 3] = [
            b"a1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\na2 CAPABILITY\r\n",
            b"x AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\ny ID (\"k\" \"v\" \"n\" NIL)\r\n",
            b"USER alice\r\nPASS a b\r\nAUTH PLAIN =\r\nCAPA\r\n",
        ];
        let alphabet = b"{}+ \r\n\"\\()0123456789aA*\x00\xff";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let limits = Limits {
            max_line: 40,
            max_literal: 8,
            max_literals: 2,
            max_command: 64,
            max_discard: 0,
        };
        for _ in 0..5000 {
            let mut input = seeds[(next() % 3) as usize].to_vec();
            for _ in 0..next() % 8 {
                let pos = (next() as usize) % (input.len() + 1);
                let b = alphabet[(next() as usize) % alphabet.len()];
                match next() % 3 {
                    0 => input.insert(pos, b),
                    1 if pos < input.len() => input[pos] = b,
                    _ if pos < input.len() => {
                        input.remove(pos);
                    }
                    _ => {}
                }
            }
            let chunk = (next() % 16 + 1) as usize;
            let mut a = Receiver::new(limits);
            'feed: for piece in input.chunks(chunk) {
                a.feed(piece);
                while let Some(ev) = a.next_event() {
                    match ev {
                        Event::Command(raw) => {
                            // Lines plus literals, and the CRLF the
                            // receiver writes after each literal marker.
                            let markers = 2 * limits.max_literals;
                            assert!(raw.bytes.len() <= limits.max_command + markers, "{input:?}");
                            let _ = parse(&raw);
                        }
                        Event::Error(e) if e.fatal => break 'feed,
                        _ => {}
                    }
                }
                assert!(a.buffered() <= limits.max_line + limits.max_literal as usize + 2 * 16);
            }
            for line in input.split(|&b| b == b'\n') {
                let _ = pop3_preauth::parse_command(line);
                let _ = from_plain(line);
            }
        }
    }
}
