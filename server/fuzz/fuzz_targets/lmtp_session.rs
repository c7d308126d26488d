//! Arbitrary bytes through the LMTP session (parser, DATA reader, replies,
//! state machine) with an in-memory store. Checks, besides "no panic":
//! - every output line is a well-formed reply line (`ddd`, space or dash,
//!   no control characters, CRLF);
//! - feeding the input whole or in small chunks gives the same output and
//!   the same stored messages (the session is chunking-independent);
//! - no stored message exceeds the size limit.

#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use kc_server::lmtp::{
    AcceptedRecipient, Delivery, Envelope, Flow, Mailbox, Message, RecipientCheck,
    RecipientOutcome, Session, SessionConfig,
};
use libfuzzer_sys::fuzz_target;

const MAX_SIZE: u64 = 4096;

#[derive(Default)]
struct FakeStore {
    stored: Mutex<Vec<(Vec<u8>, usize)>>,
}

#[async_trait]
impl Delivery for FakeStore {
    type Recipient = u8;

    async fn check_recipient(&self, address: &Mailbox) -> RecipientCheck<u8> {
        // The first letter picks the answer, so the fuzzer can reach each.
        match address.local_part().bytes().next().unwrap_or(b'a') {
            b'u' => RecipientCheck::Unknown,
            b'd' => RecipientCheck::Disabled,
            b'q' => RecipientCheck::OverQuota,
            b't' => RecipientCheck::TempFail,
            b => RecipientCheck::Accept(b),
        }
    }

    async fn deliver(
        &self,
        message: &Message,
        _envelope: &Envelope,
        recipients: &[AcceptedRecipient<u8>],
    ) -> Vec<RecipientOutcome> {
        let bytes = message
            .read_all()
            .map(|c| c.into_owned())
            .unwrap_or_default();
        assert!(
            bytes.len() as u64 <= MAX_SIZE,
            "message over the limit stored"
        );
        self.stored.lock().unwrap().push((bytes, recipients.len()));
        let mut out: Vec<RecipientOutcome> = recipients
            .iter()
            .map(|r| match r.target % 4 {
                0 => RecipientOutcome::Delivered,
                1 => RecipientOutcome::OverQuota,
                2 => RecipientOutcome::TempFail,
                _ => RecipientOutcome::PermFail,
            })
            .collect();
        // A store that returns too few outcomes must not break the replies.
        if recipients.first().is_some_and(|r| r.target == b'z') {
            out.pop();
        }
        out
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime")
    })
}

fn config() -> Arc<SessionConfig> {
    Arc::new(SessionConfig {
        hostname: "fuzz".into(),
        max_message_size: MAX_SIZE,
        max_recipients: 4,
        // Keep bodies in memory: the fuzzer should spend its time on parsing.
        spool_threshold: 1 << 20,
        spool_dir: None,
        max_errors: 1000,
    })
}

async fn run(input: &[u8], chunk: usize) -> (Vec<u8>, Vec<(Vec<u8>, usize)>) {
    let store = Arc::new(FakeStore::default());
    let mut session = Session::new(store.clone(), config());
    let mut out = session.greeting().to_bytes();
    for piece in input.chunks(chunk) {
        if session.ingest(piece, &mut out).await == Flow::Close {
            break;
        }
    }
    let stored = std::mem::take(&mut *store.stored.lock().unwrap());
    (out, stored)
}

fn check_reply_lines(out: &[u8]) {
    assert!(
        out.is_empty() || out.ends_with(b"\r\n"),
        "output ends mid-line"
    );
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let line = line.strip_suffix(b"\r").expect("reply line without CR");
        assert!(line.len() >= 4, "short reply line {line:?}");
        assert!(
            line[..3].iter().all(u8::is_ascii_digit),
            "bad code {line:?}"
        );
        assert!(line[3] == b' ' || line[3] == b'-', "bad separator {line:?}");
        let text = std::str::from_utf8(line).expect("reply not UTF-8");
        assert!(
            !text.chars().any(char::is_control),
            "control char in {line:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let (whole_out, whole_stored) = runtime().block_on(run(input, input.len().max(1)));
    check_reply_lines(&whole_out);
    let (chunked_out, chunked_stored) = runtime().block_on(run(input, chunk));
    assert_eq!(
        whole_out, chunked_out,
        "output depends on chunking ({chunk})"
    );
    assert_eq!(
        whole_stored, chunked_stored,
        "stored messages depend on chunking"
    );
});
