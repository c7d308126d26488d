//! The LMTP session: bytes from the client in, replies out, the store
//! reached through [`Delivery`]. No sockets: the I/O module feeds it
//! whatever it read and writes back what it produced, so pipelined commands
//! (RFC 2920) are answered in one write.
//!
//! The LMTP rule (RFC 2033 §4.2): one reply per RCPT, and after the
//! terminating dot one reply per *accepted* recipient, in RCPT order. A
//! transaction with no accepted recipient refuses DATA with 503.

use std::path::PathBuf;
use std::sync::Arc;

use tracing::{info, warn};

use super::data::DataReader;
use super::delivery::{AcceptedRecipient, Delivery, Envelope, RecipientCheck, RecipientOutcome};
use super::parser::{
    parse_command, Command, MailParams, ParseError, ReversePath, MAX_COMMAND_LINE,
};
use super::reply::Reply;
use super::spool::Spool;

/// Session limits and names.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The name in the greeting and LHLO reply.
    pub hostname: String,
    /// Largest body accepted (advertised as `SIZE`).
    pub max_message_size: u64,
    /// Most recipients per transaction; more get 452 4.5.3.
    pub max_recipients: usize,
    /// Bodies above this many bytes are spooled to a temporary file.
    pub spool_threshold: usize,
    /// Directory for spool files (server.cfg `tmp_path`); `None` is the
    /// system temporary directory.
    pub spool_dir: Option<PathBuf>,
    /// Bad commands tolerated before the connection is closed with 421.
    pub max_errors: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            hostname: "localhost".into(),
            max_message_size: 64 << 20,
            max_recipients: 1000,
            spool_threshold: 1 << 20,
            spool_dir: None,
            max_errors: 20,
        }
    }
}

/// Whether the connection stays open after [`Session::ingest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Continue,
    /// Write the output, then close (QUIT, or too many errors).
    Close,
}

struct Transaction<R> {
    sender: ReversePath,
    params: MailParams,
    recipients: Vec<AcceptedRecipient<R>>,
}

struct Body {
    reader: DataReader,
    spool: Spool,
    chunk: Vec<u8>,
    spool_error: Option<std::io::Error>,
}

enum Mode {
    Command,
    Data(Box<Body>),
}

/// One client's LMTP state.
pub struct Session<D: Delivery> {
    delivery: Arc<D>,
    config: Arc<SessionConfig>,
    lhlo: Option<String>,
    tx: Option<Transaction<D::Recipient>>,
    mode: Mode,
    /// The command line read so far (without its LF), at most
    /// [`MAX_COMMAND_LINE`] bytes.
    line: Vec<u8>,
    /// The current line overflowed: drop bytes up to its LF, then 500.
    line_too_long: bool,
    errors: usize,
    closed: bool,
}

impl<D: Delivery> Session<D> {
    /// A new session; send [`Session::greeting`] first.
    pub fn new(delivery: Arc<D>, config: Arc<SessionConfig>) -> Session<D> {
        Session {
            delivery,
            config,
            lhlo: None,
            tx: None,
            mode: Mode::Command,
            line: Vec::new(),
            line_too_long: false,
            errors: 0,
            closed: false,
        }
    }

    /// The 220 greeting.
    pub fn greeting(&self) -> Reply {
        Reply::greeting(&self.config.hostname)
    }

    /// Whether the session is between commands: not inside DATA and not
    /// holding part of a line. A graceful shutdown closes it only then.
    pub fn is_idle(&self) -> bool {
        matches!(self.mode, Mode::Command) && self.line.is_empty() && !self.line_too_long
    }

    /// Whether QUIT (or the error limit) has ended the session.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Processes `input`, appending replies to `out`. Input after QUIT is
    /// ignored.
    pub async fn ingest(&mut self, input: &[u8], out: &mut Vec<u8>) -> Flow {
        let mut pos = 0;
        while pos < input.len() && !self.closed {
            if let Mode::Data(body) = &mut self.mode {
                let progress = body.reader.feed(&input[pos..], &mut body.chunk);
                pos += progress.consumed;
                if !body.chunk.is_empty() {
                    if body.spool_error.is_none() {
                        if let Err(e) = body.spool.write(&body.chunk).await {
                            body.spool_error = Some(e);
                        }
                    }
                    body.chunk.clear();
                }
                if progress.done {
                    if let Mode::Data(body) = std::mem::replace(&mut self.mode, Mode::Command) {
                        self.finish_data(*body, out).await;
                    }
                }
                continue;
            }
            let rest = &input[pos..];
            match rest.iter().position(|&b| b == b'\n') {
                None => {
                    self.take_partial(rest);
                    pos = input.len();
                }
                Some(i) => {
                    pos += i + 1;
                    if self.line_too_long || self.line.len() + i + 1 > MAX_COMMAND_LINE {
                        self.line_too_long = false;
                        self.line.clear();
                        self.error(Reply::from(&ParseError::LineTooLong), out);
                        continue;
                    }
                    self.line.extend_from_slice(&rest[..i]);
                    let line = std::mem::take(&mut self.line);
                    let parsed = parse_command(&line);
                    // Keep the allocation for the next line.
                    self.line = line;
                    self.line.clear();
                    match parsed {
                        Ok(cmd) => self.execute(cmd, out).await,
                        Err(e) => self.error(Reply::from(&e), out),
                    }
                }
            }
        }
        if self.closed {
            Flow::Close
        } else {
            Flow::Continue
        }
    }

    /// Keeps an unterminated line piece, or starts discarding the line once
    /// it cannot fit any more.
    fn take_partial(&mut self, piece: &[u8]) {
        if self.line_too_long {
            return;
        }
        if self.line.len() + piece.len() >= MAX_COMMAND_LINE {
            self.line_too_long = true;
            self.line.clear();
        } else {
            self.line.extend_from_slice(piece);
        }
    }

    /// Writes an error reply and closes once the error limit is reached.
    fn error(&mut self, reply: Reply, out: &mut Vec<u8>) {
        reply.write_to(out);
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            Reply::too_many_errors(&self.config.hostname).write_to(out);
            self.closed = true;
        }
    }

    async fn execute(&mut self, cmd: Command, out: &mut Vec<u8>) {
        match cmd {
            Command::Lhlo { domain } => {
                // LHLO, like EHLO, also resets the transaction (RFC 5321 §4.1.4).
                self.tx = None;
                self.lhlo = Some(domain);
                Reply::lhlo(&self.config.hostname, self.config.max_message_size).write_to(out);
            }
            Command::Helo => self.error(Reply::use_lhlo(), out),
            Command::Mail { from, params } => {
                if self.lhlo.is_none() {
                    return self.error(Reply::bad_sequence("Send LHLO first"), out);
                }
                if self.tx.is_some() {
                    return self.error(Reply::bad_sequence("Nested MAIL command"), out);
                }
                if params
                    .size
                    .is_some_and(|s| s > self.config.max_message_size)
                {
                    return Reply::too_big(self.config.max_message_size).write_to(out);
                }
                if !from.is_ascii() && !params.smtputf8 {
                    return Reply::needs_smtputf8().write_to(out);
                }
                Reply::sender_ok(&from.address()).write_to(out);
                self.tx = Some(Transaction {
                    sender: from,
                    params,
                    recipients: Vec::new(),
                });
            }
            Command::Rcpt { to } => {
                let Some(tx) = &mut self.tx else {
                    return self.error(Reply::bad_sequence("Need MAIL before RCPT"), out);
                };
                if !to.is_ascii() && !tx.params.smtputf8 {
                    return Reply::needs_smtputf8().write_to(out);
                }
                if tx.recipients.len() >= self.config.max_recipients {
                    return Reply::too_many_recipients().write_to(out);
                }
                let address = to.address();
                let reply = match self.delivery.check_recipient(&to).await {
                    RecipientCheck::Accept(target) => {
                        tx.recipients.push(AcceptedRecipient {
                            address: to,
                            target,
                        });
                        Reply::recipient_ok(&address)
                    }
                    RecipientCheck::Unknown => Reply::unknown_user(&address),
                    RecipientCheck::Disabled => Reply::mailbox_disabled(&address),
                    RecipientCheck::OverQuota => Reply::over_quota(&address),
                    RecipientCheck::TempFail => Reply::temp_fail(&format!("<{address}>")),
                };
                reply.write_to(out);
            }
            Command::Data => match &self.tx {
                None => self.error(Reply::bad_sequence("Need MAIL before DATA"), out),
                Some(tx) if tx.recipients.is_empty() => {
                    // RFC 2033 §4.2: no accepted RCPT means DATA fails with 503.
                    self.error(Reply::bad_sequence("No valid recipients"), out)
                }
                Some(_) => {
                    Reply::start_data().write_to(out);
                    self.mode = Mode::Data(Box::new(Body {
                        reader: DataReader::new(self.config.max_message_size),
                        spool: Spool::new(
                            self.config.spool_threshold,
                            self.config.spool_dir.clone(),
                        ),
                        chunk: Vec::new(),
                        spool_error: None,
                    }));
                }
            },
            Command::Rset => {
                self.tx = None;
                Reply::ok("Reset").write_to(out);
            }
            Command::Noop => Reply::ok("OK").write_to(out),
            Command::Quit => {
                Reply::bye().write_to(out);
                self.closed = true;
            }
            Command::Vrfy => Reply::cannot_verify().write_to(out),
            Command::Help => Reply::help().write_to(out),
            Command::NotImplemented { verb } => self.error(Reply::not_implemented(verb), out),
        }
    }

    /// Answers the end of DATA: one reply per accepted recipient, in order.
    async fn finish_data(&mut self, body: Body, out: &mut Vec<u8>) {
        let Some(tx) = self.tx.take() else {
            return;
        };
        let addresses: Vec<String> = tx.recipients.iter().map(|r| r.address.address()).collect();
        let size = body.reader.size();
        if body.reader.overflowed() {
            info!(size, max = self.config.max_message_size, "message too big");
            for _ in &addresses {
                Reply::too_big(self.config.max_message_size).write_to(out);
            }
            return;
        }
        if let Some(e) = &body.spool_error {
            warn!(error = %e, "spooling the message failed");
            for a in &addresses {
                Reply::temp_fail(&format!("<{a}>")).write_to(out);
            }
            return;
        }
        let message = match body.spool.finish().await {
            Ok(m) => m,
            Err(e) => {
                warn!(error = %e, "spooling the message failed");
                for a in &addresses {
                    Reply::temp_fail(&format!("<{a}>")).write_to(out);
                }
                return;
            }
        };
        let envelope = Envelope {
            lhlo: self.lhlo.clone().unwrap_or_default(),
            sender: tx.sender,
            body: tx.params.body,
            smtputf8: tx.params.smtputf8,
            declared_size: tx.params.size,
        };
        let outcomes = self
            .delivery
            .deliver(&message, &envelope, &tx.recipients)
            .await;
        if outcomes.len() != addresses.len() {
            warn!(
                expected = addresses.len(),
                got = outcomes.len(),
                "store returned the wrong number of outcomes"
            );
        }
        for (i, address) in addresses.iter().enumerate() {
            let outcome = outcomes
                .get(i)
                .copied()
                .unwrap_or(RecipientOutcome::TempFail);
            info!(
                from = %envelope.sender.address(),
                to = %address,
                size,
                ?outcome,
                "delivery"
            );
            let reply = match outcome {
                RecipientOutcome::Delivered => Reply::delivered(address),
                RecipientOutcome::OverQuota => Reply::over_quota(address),
                RecipientOutcome::TempFail => Reply::temp_fail(&format!("<{address}>")),
                RecipientOutcome::PermFail => Reply::perm_fail(address),
            };
            reply.write_to(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use async_trait::async_trait;
    use parking_lot::Mutex;

    use super::*;
    use crate::lmtp::parser::Mailbox;
    use crate::lmtp::spool::Message;

    /// One deliver call: body, envelope, recipient ids.
    type Call = (Vec<u8>, Envelope, Vec<u32>);

    /// In-memory stand-in for the store: known users by address, quota
    /// state, and a record of every deliver call.
    #[derive(Default)]
    struct FakeStore {
        users: HashMap<String, u32>,
        full: Vec<u32>,
        calls: Mutex<Vec<Call>>,
    }

    impl FakeStore {
        fn new(users: &[(&str, u32)], full: &[u32]) -> Arc<FakeStore> {
            Arc::new(FakeStore {
                users: users.iter().map(|(a, id)| ((*a).to_owned(), *id)).collect(),
                full: full.to_vec(),
                calls: Mutex::default(),
            })
        }
    }

    #[async_trait]
    impl Delivery for FakeStore {
        type Recipient = u32;

        async fn check_recipient(&self, address: &Mailbox) -> RecipientCheck<u32> {
            match address.address().as_str() {
                "ldap-down@x" => RecipientCheck::TempFail,
                "inactive@x" => RecipientCheck::Disabled,
                a => match self.users.get(a) {
                    Some(id) => RecipientCheck::Accept(*id),
                    None => RecipientCheck::Unknown,
                },
            }
        }

        async fn deliver(
            &self,
            message: &Message,
            envelope: &Envelope,
            recipients: &[AcceptedRecipient<u32>],
        ) -> Vec<RecipientOutcome> {
            let bytes = match message.load().await {
                Ok(b) => b.to_vec(),
                Err(e) => panic!("load: {e}"),
            };
            let ids: Vec<u32> = recipients.iter().map(|r| r.target).collect();
            self.calls
                .lock()
                .push((bytes, envelope.clone(), ids.clone()));
            ids.iter()
                .map(|id| {
                    if self.full.contains(id) {
                        RecipientOutcome::OverQuota
                    } else {
                        RecipientOutcome::Delivered
                    }
                })
                .collect()
        }
    }

    fn session(store: &Arc<FakeStore>, config: SessionConfig) -> Session<FakeStore> {
        Session::new(store.clone(), Arc::new(config))
    }

    /// Feeds `input` in `chunk`-sized pieces; returns the output and flow.
    async fn run(s: &mut Session<FakeStore>, input: &[u8], chunk: usize) -> (String, Flow) {
        let mut out = Vec::new();
        let mut flow = Flow::Continue;
        for piece in input.chunks(chunk.max(1)) {
            flow = s.ingest(piece, &mut out).await;
            if flow == Flow::Close {
                break;
            }
        }
        (String::from_utf8_lossy(&out).into_owned(), flow)
    }

    /// The code and enhanced status of each final reply line.
    fn codes(out: &str) -> Vec<&str> {
        out.split("\r\n")
            .filter(|l| l.len() >= 4 && &l[3..4] == " ")
            .map(|l| {
                l.get(..9)
                    .filter(|c| c.as_bytes()[4].is_ascii_digit())
                    .unwrap_or(&l[..3])
            })
            .collect()
    }

    fn users() -> Arc<FakeStore> {
        FakeStore::new(&[("a@x", 1), ("b@x", 2), ("c@x", 3)], &[3])
    }

    const TX: &[u8] =
        b"LHLO mta\r\nMAIL FROM:<s@y> SIZE=20\r\nRCPT TO:<a@x>\r\nRCPT TO:<nobody@x>\r\n\
RCPT TO:<c@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nSubject: t\r\n\r\n..dot\r\n.\r\nQUIT\r\n";

    #[tokio::test]
    async fn one_reply_per_accepted_recipient_in_order() {
        for chunk in [TX.len(), 1, 2, 7] {
            let store = users();
            let mut s = session(&store, SessionConfig::default());
            let (out, flow) = run(&mut s, TX, chunk).await;
            assert_eq!(flow, Flow::Close);
            assert_eq!(
                codes(&out),
                [
                    "250",
                    "250 2.1.0",
                    "250 2.1.5",
                    "550 5.1.1",
                    "250 2.1.5",
                    "250 2.1.5",
                    "354",
                    "250 2.0.0",
                    "552 5.2.2",
                    "250 2.0.0",
                    "221 2.0.0"
                ],
                "chunk {chunk}: {out}"
            );
            assert!(out.contains("552 5.2.2 <c@x>"), "{out}");
            let calls = store.calls.lock();
            assert_eq!(calls.len(), 1, "stored once for all recipients");
            assert_eq!(calls[0].0, b"Subject: t\r\n\r\n.dot\r\n");
            assert_eq!(calls[0].2, [1, 3, 2]);
            assert_eq!(calls[0].1.sender.address(), "s@y");
            assert_eq!(calls[0].1.declared_size, Some(20));
            assert_eq!(calls[0].1.lhlo, "mta");
        }
    }

    #[tokio::test]
    async fn sequence_errors() {
        let store = users();
        let mut s = session(&store, SessionConfig::default());
        let (out, _) = run(
            &mut s,
            b"MAIL FROM:<s@y>\r\nHELO x\r\nLHLO x\r\nRCPT TO:<a@x>\r\nDATA\r\n\
MAIL FROM:<s@y>\r\nMAIL FROM:<s@y>\r\nDATA\r\nRCPT TO:<nobody@x>\r\nDATA\r\nRSET\r\nDATA\r\n",
            usize::MAX,
        )
        .await;
        assert_eq!(
            codes(&out),
            [
                "503 5.5.1",
                "500 5.5.1",
                "250",
                "503 5.5.1",
                "503 5.5.1",
                "250 2.1.0",
                "503 5.5.1",
                "503 5.5.1",
                "550 5.1.1",
                "503 5.5.1",
                "250 2.0.0",
                "503 5.5.1"
            ],
            "{out}"
        );
        assert!(store.calls.lock().is_empty());
    }

    #[tokio::test]
    async fn recipient_checks() {
        let store = users();
        let mut s = session(&store, SessionConfig::default());
        let (out, _) = run(
            &mut s,
            "LHLO x\r\nMAIL FROM:<s@y>\r\nRCPT TO:<ldap-down@x>\r\nRCPT TO:<inactive@x>\r\n\
RCPT TO:<jö@x>\r\nRSET\r\nMAIL FROM:<jö@y>\r\nMAIL FROM:<jö@y> SMTPUTF8\r\nRCPT TO:<jö@x>\r\n\
RCPT TO:<a@x> NOTIFY=NEVER\r\n"
                .as_bytes(),
            usize::MAX,
        )
        .await;
        assert_eq!(
            codes(&out),
            [
                "250",
                "250 2.1.0",
                "451 4.3.0",
                "550 5.2.1",
                "553 5.6.7",
                "250 2.0.0",
                "553 5.6.7",
                "250 2.1.0",
                "550 5.1.1",
                "555 5.5.4"
            ],
            "{out}"
        );
    }

    #[tokio::test]
    async fn recipient_limit() {
        let store = users();
        let config = SessionConfig {
            max_recipients: 2,
            ..SessionConfig::default()
        };
        let mut s = session(&store, config);
        let (out, _) = run(
            &mut s,
            b"LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@x>\r\nDATA\r\nhi\r\n.\r\n",
            usize::MAX,
        )
        .await;
        assert_eq!(
            codes(&out),
            [
                "250",
                "250 2.1.0",
                "250 2.1.5",
                "250 2.1.5",
                "452 4.5.3",
                "354",
                "250 2.0.0",
                "250 2.0.0"
            ],
            "{out}"
        );
        assert_eq!(store.calls.lock()[0].1.sender, ReversePath::Null);
    }

    #[tokio::test]
    async fn size_limits() {
        let store = users();
        let config = SessionConfig {
            max_message_size: 10,
            ..SessionConfig::default()
        };
        let mut s = session(&store, config);
        let (out, flow) = run(
            &mut s,
            b"LHLO x\r\nMAIL FROM:<s@y> SIZE=9223372036854775808\r\nMAIL FROM:<s@y> SIZE=10\r\n\
RCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n0123456789\r\n.\r\nNOOP\r\n\
MAIL FROM:<s@y>\r\nRCPT TO:<a@x>\r\nDATA\r\n01234567\r\n.\r\n",
            3,
        )
        .await;
        assert_eq!(flow, Flow::Continue);
        assert_eq!(
            codes(&out),
            [
                "250",
                "552 5.3.4",
                "250 2.1.0",
                "250 2.1.5",
                "250 2.1.5",
                "354",
                "552 5.3.4",
                "552 5.3.4",
                "250 2.0.0",
                "250 2.1.0",
                "250 2.1.5",
                "354",
                "250 2.0.0"
            ],
            "{out}"
        );
        let calls = store.calls.lock();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].0, b"01234567\r\n");
    }

    #[tokio::test]
    async fn garbage_keeps_the_session_alive() {
        let store = users();
        let mut s = session(&store, SessionConfig::default());
        let mut input = b"\x00\xff\xfe\xfd binary\r\n".to_vec();
        input.extend_from_slice(&[b'x'; 10_000]);
        input.extend_from_slice(b"\r\nFOO\r\nNOOP\r\n");
        // A line of exactly the limit (998 + CRLF) is still accepted.
        input
            .extend_from_slice(format!("NOOP {}\r\n", "y".repeat(MAX_COMMAND_LINE - 7)).as_bytes());
        input
            .extend_from_slice(format!("NOOP {}\r\n", "y".repeat(MAX_COMMAND_LINE - 6)).as_bytes());
        for chunk in [input.len(), 1, 100] {
            let mut s2 = session(&store, SessionConfig::default());
            let (out, flow) = run(&mut s2, &input, chunk).await;
            assert_eq!(flow, Flow::Continue);
            assert_eq!(
                codes(&out),
                [
                    "500 5.5.2",
                    "500 5.5.2",
                    "500 5.5.1",
                    "250 2.0.0",
                    "250 2.0.0",
                    "500 5.5.2"
                ],
                "chunk {chunk}: {out}"
            );
        }
        let (out, _) = run(&mut s, b"LHLO x\r\n", 1).await;
        assert!(out.starts_with("250-"));
    }

    #[tokio::test]
    async fn error_limit_closes() {
        let store = users();
        let config = SessionConfig {
            max_errors: 3,
            ..SessionConfig::default()
        };
        let mut s = session(&store, config);
        let (out, flow) = run(&mut s, b"X\r\nY\r\nZ\r\nNOOP\r\n", usize::MAX).await;
        assert_eq!(flow, Flow::Close);
        assert_eq!(
            codes(&out),
            ["500 5.5.1", "500 5.5.1", "500 5.5.1", "421 4.7.0"]
        );
        assert!(s.is_closed());
    }

    #[tokio::test]
    async fn large_body_is_spooled_and_byte_exact() {
        let store = users();
        let config = SessionConfig {
            spool_threshold: 100,
            ..SessionConfig::default()
        };
        let mut s = session(&store, config);
        let mut body = Vec::new();
        for i in 0..2000 {
            body.extend_from_slice(format!("line {i} with a bare\nLF and \u{e9}\r\n").as_bytes());
        }
        let mut input =
            b"LHLO x\r\nMAIL FROM:<s@y> BODY=8BITMIME\r\nRCPT TO:<a@x>\r\nDATA\r\n".to_vec();
        input.extend_from_slice(&body);
        input.extend_from_slice(b".\r\n");
        let (out, _) = run(&mut s, &input, 4096).await;
        assert_eq!(
            codes(&out),
            ["250", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0"]
        );
        assert_eq!(store.calls.lock()[0].0, body);
    }

    #[tokio::test]
    async fn idle_tracking() {
        let store = users();
        let mut s = session(&store, SessionConfig::default());
        assert!(s.is_idle());
        run(&mut s, b"LHLO x\r\nNO", usize::MAX).await;
        assert!(!s.is_idle());
        run(
            &mut s,
            b"OP\r\nMAIL FROM:<>\r\nRCPT TO:<a@x>\r\nDATA\r\n",
            usize::MAX,
        )
        .await;
        assert!(!s.is_idle());
        run(&mut s, b".\r\n", usize::MAX).await;
        assert!(s.is_idle());
    }
}
