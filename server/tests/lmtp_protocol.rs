//! The LMTP listener over real sockets: Python's `smtplib.LMTP` as the peer
//! (TCP and unix socket), a pipelined raw exchange, garbage input, the read
//! timeout and graceful shutdown. The store is an in-memory stand-in.
//!
//! Needs `python3` (standard library only); the tests fail if it is missing.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kc_configs::ListenAddr;
use kc_server::lmtp::{
    serve, AcceptedRecipient, Delivery, Envelope, LmtpConfig, LmtpListener, Mailbox, Message,
    RecipientCheck, RecipientOutcome, SessionConfig,
};
use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One deliver call: body, sender, recipient ids, whether the body came
/// from a spool file.
type Call = (Vec<u8>, String, Vec<u32>, bool);

/// Known users by address; user 3 is over its hard quota.
struct FakeStore {
    users: HashMap<&'static str, u32>,
    calls: Mutex<Vec<Call>>,
}

impl FakeStore {
    fn new() -> Arc<FakeStore> {
        Arc::new(FakeStore {
            users: [
                ("a@example.com", 1),
                ("b@example.com", 2),
                ("full@example.com", 3),
            ]
            .into_iter()
            .collect(),
            calls: Mutex::default(),
        })
    }
}

#[async_trait]
impl Delivery for FakeStore {
    type Recipient = u32;

    async fn check_recipient(&self, address: &Mailbox) -> RecipientCheck<u32> {
        match self.users.get(address.address().as_str()) {
            Some(id) => RecipientCheck::Accept(*id),
            None => RecipientCheck::Unknown,
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
        self.calls.lock().push((
            bytes,
            envelope.sender.address(),
            ids.clone(),
            message.as_bytes().is_none(),
        ));
        ids.iter()
            .map(|id| match id {
                3 => RecipientOutcome::OverQuota,
                _ => RecipientOutcome::Delivered,
            })
            .collect()
    }
}

struct Running {
    store: Arc<FakeStore>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn config(read_timeout: Duration) -> Arc<LmtpConfig> {
    Arc::new(LmtpConfig {
        session: Arc::new(SessionConfig {
            hostname: "lmtp.test".into(),
            // Small enough that the test messages are spooled to a file.
            spool_threshold: 64,
            ..SessionConfig::default()
        }),
        read_timeout,
        ..LmtpConfig::default()
    })
}

fn start(listener: LmtpListener, config: Arc<LmtpConfig>) -> Running {
    let store = FakeStore::new();
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(serve(listener, store.clone(), config, rx));
    Running {
        store,
        shutdown: tx,
        task,
    }
}

fn bind(addr: &str) -> LmtpListener {
    let addr = ListenAddr::parse(addr).unwrap_or_else(|| panic!("bad address {addr}"));
    match LmtpListener::bind(&addr) {
        Ok(mut v) if v.len() == 1 => v.remove(0),
        Ok(v) => panic!("{} listeners", v.len()),
        Err(e) => panic!("bind {addr}: {e}"),
    }
}

/// Binds 127.0.0.1 on a free port; returns the listener and the port.
fn bind_loopback() -> (LmtpListener, u16) {
    let l = bind("127.0.0.1:0");
    let port = match &l {
        LmtpListener::Tcp(t) => t.local_addr().map(|a| a.port()).unwrap_or(0),
        LmtpListener::Unix(_) => 0,
    };
    assert_ne!(port, 0);
    (l, port)
}

const PY_CLIENT: &str = r#"
import json, smtplib, sys
target, port, msg, rcpts = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3]), sys.argv[4:]
s = smtplib.LMTP(target, port) if port else smtplib.LMTP(target)
code, _ = s.ehlo("client.example")
out = {"lhlo": code, "features": sorted(s.esmtp_features)}
out["mail"] = s.mail("sender@example.org", ["SIZE=%d" % len(msg), "BODY=8BITMIME"])[0]
out["rcpt"] = [s.rcpt(r)[0] for r in rcpts]
accepted = sum(1 for c in out["rcpt"] if c == 250)
code, text = s.data(msg)
replies = [[code, text.decode()]]
for _ in range(accepted - 1):
    code, text = s.getreply()
    replies.append([code, text.decode()])
out["data"] = replies
out["quit"] = s.quit()[0]
print(json.dumps(out))
"#;

/// A message that exercises dot-stuffing, 8-bit text and a bare LF; its
/// lines end in CRLF, so smtplib sends it unchanged apart from stuffing.
const MESSAGE: &[u8] = "From: sender@example.org\r\nTo: a@example.com\r\nSubject: LMTP test\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
.leading dot\r\n..two dots\r\n.\r\nGrüße, a bare\nLF stays\r\nlast line\r\n"
    .as_bytes();

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the smtplib client against `target` (host + port, or a socket path
/// with port 0) and returns its JSON report.
async fn python_lmtp(target: &str, port: u16, rcpts: &[&str]) -> serde_json::Value {
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(PY_CLIENT)
        .arg(target)
        .arg(port.to_string())
        .arg(hex(MESSAGE))
        .args(rcpts);
    let output = match tokio::task::spawn_blocking(move || cmd.output()).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => panic!("python3 is required for this test (apt-get install python3): {e}"),
        Err(e) => panic!("join: {e}"),
    };
    assert!(
        output.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    match serde_json::from_slice(&output.stdout) {
        Ok(v) => v,
        Err(e) => panic!(
            "bad JSON from python ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        ),
    }
}

fn check_python_report(report: &serde_json::Value, store: &FakeStore) {
    let codes = |key: &str| -> Vec<u64> {
        report[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_u64().or_else(|| c[0].as_u64()))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(report["lhlo"], 250, "{report}");
    for feature in [
        "pipelining",
        "enhancedstatuscodes",
        "8bitmime",
        "size",
        "smtputf8",
    ] {
        assert!(
            report["features"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == feature)),
            "{feature} not advertised: {report}"
        );
    }
    assert_eq!(report["mail"], 250, "{report}");
    assert_eq!(codes("rcpt"), [250, 550, 250], "{report}");
    assert_eq!(codes("data"), [250, 250], "{report}");
    let texts: Vec<&str> = report["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r[1].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        texts,
        [
            "2.0.0 <a@example.com> delivered",
            "2.0.0 <b@example.com> delivered"
        ],
        "{report}"
    );
    assert_eq!(report["quit"], 221, "{report}");
    let calls = store.calls.lock();
    assert_eq!(calls.len(), 1, "one store call for all recipients");
    assert_eq!(calls[0].0, MESSAGE, "message bytes differ");
    assert_eq!(calls[0].1, "sender@example.org");
    assert_eq!(calls[0].2, [1, 2]);
    assert!(
        calls[0].3,
        "a body above spool_threshold is spooled to a file"
    );
}

const RCPTS: &[&str] = &["a@example.com", "nobody@example.com", "b@example.com"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtplib_over_tcp() {
    let (listener, port) = bind_loopback();
    let run = start(listener, config(Duration::from_secs(60)));
    let report = python_lmtp("127.0.0.1", port, RCPTS).await;
    eprintln!("smtplib report: {report}");
    check_python_report(&report, &run.store);
    let _ = run.shutdown.send(true);
    assert!(run.task.await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtplib_over_unix_socket() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let path = dir.path().join("dagent.sock");
    let addr = format!("unix:{}", path.display());
    // A socket file left behind by an earlier listener is replaced.
    drop(bind(&addr));
    assert!(path.exists());
    let run = start(bind(&addr), config(Duration::from_secs(60)));
    let report = python_lmtp(&path.display().to_string(), 0, RCPTS).await;
    check_python_report(&report, &run.store);
    let _ = run.shutdown.send(true);
    assert!(run.task.await.is_ok());
}

/// A client that reads whole replies.
struct Client {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    async fn connect(port: u16) -> Client {
        let stream = match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => s,
            Err(e) => panic!("connect: {e}"),
        };
        let (r, w) = stream.into_split();
        let mut c = Client {
            reader: BufReader::new(r),
            writer: w,
        };
        assert_eq!(c.reply().await.0, 220);
        c
    }

    async fn send(&mut self, bytes: &[u8]) {
        if let Err(e) = self.writer.write_all(bytes).await {
            panic!("write: {e}");
        }
    }

    /// Reads one reply; returns its code and the text of its last line.
    async fn reply(&mut self) -> (u16, String) {
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line).await {
                Ok(0) => panic!("connection closed while waiting for a reply"),
                Ok(_) => {}
                Err(e) => panic!("read: {e}"),
            }
            assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
            let code = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            match line.as_bytes().get(3) {
                Some(b'-') => continue,
                Some(b' ') => return (code, line[4..].trim_end().to_owned()),
                _ => panic!("malformed reply line {line:?}"),
            }
        }
    }

    async fn codes(&mut self, n: usize) -> Vec<u16> {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.reply().await.0);
        }
        v
    }

    async fn expect_eof(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest).await {
            Ok(_) => assert!(
                rest.is_empty(),
                "unexpected bytes: {:?}",
                String::from_utf8_lossy(&rest)
            ),
            Err(e) => panic!("read: {e}"),
        }
    }
}

#[tokio::test]
async fn pipelined_exchange_with_quota_failure() {
    let (listener, port) = bind_loopback();
    let run = start(listener, config(Duration::from_secs(60)));
    let mut c = Client::connect(port).await;
    c.send(
        b"LHLO raw.example\r\nMAIL FROM:<s@example.org> BODY=8BITMIME\r\n\
RCPT TO:<a@example.com>\r\nRCPT TO:<nobody@example.com>\r\n\
RCPT TO:<full@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n",
    )
    .await;
    assert_eq!(c.codes(7).await, [250, 250, 250, 550, 250, 250, 354]);
    // Body, end of data and the next commands in one write.
    c.send(b"Subject: x\r\n\r\n..body\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n")
        .await;
    let after_data = [c.reply().await, c.reply().await, c.reply().await];
    assert_eq!(
        after_data[0],
        (250, "2.0.0 <a@example.com> delivered".into())
    );
    assert_eq!(
        after_data[1],
        (
            552,
            "5.2.2 <full@example.com> mailbox full (over quota)".into()
        )
    );
    assert_eq!(
        after_data[2],
        (250, "2.0.0 <b@example.com> delivered".into())
    );
    assert_eq!(c.codes(3).await, [250, 250, 221]);
    c.expect_eof().await;
    {
        let calls = run.store.calls.lock();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].0, b"Subject: x\r\n\r\n.body\r\n");
        assert_eq!(calls[0].2, [1, 3, 2]);
    }
    let _ = run.shutdown.send(true);
    assert!(run.task.await.is_ok());
}

#[tokio::test]
async fn garbage_is_refused_and_serving_continues() {
    let (listener, port) = bind_loopback();
    let run = start(listener, config(Duration::from_secs(60)));
    let mut c = Client::connect(port).await;
    c.send(b"LHLO g\r\n").await;
    assert_eq!(c.reply().await.0, 250);
    c.send(b"\x00\x01\xff\xfe\x80\x1b[31m garbage\r\n").await;
    assert_eq!(
        c.reply().await,
        (500, "5.5.2 Invalid characters in command".into())
    );
    let mut long = vec![b'A'; 10_000];
    long.extend_from_slice(b"\r\n");
    c.send(&long).await;
    assert_eq!(c.reply().await, (500, "5.5.2 Line too long".into()));
    c.send(b"MAIL FROM:<s@example.org> SIZE=9223372036854775808\r\n")
        .await;
    assert_eq!(c.reply().await.0, 552);
    c.send(b"MAIL FROM:<s@example.org> SIZE=abc\r\n").await;
    assert_eq!(c.reply().await.0, 501);
    c.send(b"NOOP\r\n").await;
    assert_eq!(c.reply().await.0, 250);
    c.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n")
        .await;
    assert_eq!(c.codes(3).await, [250, 250, 354]);
    c.send(b"hello\r\n.\r\n").await;
    assert_eq!(c.reply().await.0, 250);
    // Another connection is served alongside.
    let mut d = Client::connect(port).await;
    d.send(b"QUIT\r\n").await;
    assert_eq!(d.reply().await.0, 221);
    c.send(b"QUIT\r\n").await;
    assert_eq!(c.reply().await.0, 221);
    c.expect_eof().await;
    assert_eq!(run.store.calls.lock()[0].0, b"hello\r\n");
    let _ = run.shutdown.send(true);
    assert!(run.task.await.is_ok());
}

#[tokio::test]
async fn idle_client_gets_421_on_timeout() {
    let (listener, port) = bind_loopback();
    let run = start(listener, config(Duration::from_millis(200)));
    let mut c = Client::connect(port).await;
    let (code, text) = c.reply().await;
    assert_eq!(
        (code, text.as_str()),
        (421, "4.4.2 lmtp.test timeout, closing connection")
    );
    c.expect_eof().await;
    let _ = run.shutdown.send(true);
    assert!(run.task.await.is_ok());
}

#[tokio::test]
async fn shutdown_closes_idle_clients_and_finishes_data() {
    let (listener, port) = bind_loopback();
    let run = start(listener, config(Duration::from_secs(60)));
    let mut idle = Client::connect(port).await;
    let mut busy = Client::connect(port).await;
    busy.send(b"LHLO b\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.com>\r\nDATA\r\nSubject: s\r\n")
        .await;
    assert_eq!(busy.codes(4).await, [250, 250, 250, 354]);
    assert!(run.shutdown.send(true).is_ok());
    assert_eq!(idle.reply().await.0, 421);
    idle.expect_eof().await;
    // The transaction in progress is completed and acknowledged first.
    busy.send(b"\r\nbody\r\n.\r\n").await;
    assert_eq!(busy.reply().await.0, 250);
    assert_eq!(
        busy.reply().await,
        (421, "4.3.2 lmtp.test shutting down, try again later".into())
    );
    busy.expect_eof().await;
    assert!(run.task.await.is_ok());
    assert_eq!(run.store.calls.lock()[0].0, b"Subject: s\r\n\r\nbody\r\n");
}
