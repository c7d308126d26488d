//! kc-gateway IMAP (issue #8) against real clients: Python's `imaplib`
//! (scripts run with python3), raw sockets for malformed input, mbsync
//! (isync) and offlineimap3 for two-way syncs, over kc-server + kc-gateway
//! processes.
//!
//! Checked: KC expunge semantics (\Deleted until EXPUNGE, UID EXPUNGE,
//! CLOSE), RFC 6851 MOVE with COPYUID, special-use LIST, hidden non-mail
//! folders (and `imap_only_mailfolders = no`), subscriptions (default,
//! RENAME, persistence), UID/UIDVALIDITY stability across reconnects and a
//! gateway restart, IDLE seeing an LMTP delivery and another session's flag
//! change, CONDSTORE (HIGHESTMODSEQ, CHANGEDSINCE, UNCHANGEDSINCE) and
//! QRESYNC (SELECT, live VANISHED, VANISHED (EARLIER)), a >1 MB literal with
//! partial fetches, STARTTLS + AUTHENTICATE PLAIN, `imap_max_messagesize`,
//! `imap_max_fail_commands`, ID x-originating-ip from a trusted edge, the
//! `imap` feature check, BYE on shutdown, and BAD for malformed commands
//! with the session carrying on.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use kc_tests::cluster::*;
use kc_tests::gateway_harness::*;

/// The gateways' `TMPDIR` (one per test binary run; fixed at first use,
/// before `TMPDIR` points at it).
fn gateway_tmp() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        std::env::temp_dir().join(format!("kc-gateway-imap-tests-{}", std::process::id()))
    })
    .clone()
}

/// A node, a user and a gateway with an IMAP listener.
struct Env {
    cluster: Cluster,
    gw: Option<GatewayProc>,
    imap_port: u16,
    extra: Vec<String>,
}

impl Env {
    fn start(users: &[UserSpec]) -> Env {
        Env::start_with(users, &[])
    }

    /// As [`Env::start`] with extra gateway.cfg lines.
    fn start_with(users: &[UserSpec], extra: &[&str]) -> Env {
        // The gateways of this test binary get a temporary directory of
        // their own, so that tests can check nothing is kept there (IMAP
        // subscriptions live in the store).
        static TMP: std::sync::Once = std::sync::Once::new();
        TMP.call_once(|| {
            let dir = gateway_tmp();
            std::fs::create_dir_all(&dir).expect("tmp dir");
            std::env::set_var("TMPDIR", &dir);
        });
        let cluster = Cluster::start(&[("n1", &[])], users);
        let imap_port = kc_tests::free_port();
        let mut env = Env {
            cluster,
            gw: None,
            imap_port,
            extra: extra.iter().map(|l| l.to_string()).collect(),
        };
        env.start_gateway();
        env
    }

    fn start_gateway(&mut self) {
        self.gw = None;
        let listen = format!("imap_listen = 127.0.0.1:{}", self.imap_port);
        let mut lines: Vec<&str> = vec![&listen];
        lines.extend(self.extra.iter().map(String::as_str));
        let gw = start_gateway(&self.cluster, "n1", &lines);
        kc_tests::wait_for_port(self.addr(), Duration::from_secs(60));
        self.gw = Some(gw);
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.imap_port))
    }

    /// The gateway's own log lines (the HTTP client's trace left out), last 80.
    fn log(&self) -> String {
        let all = self.gw.as_ref().map(|g| g.log()).unwrap_or_default();
        let lines: Vec<&str> = all.lines().filter(|l| !l.contains("hyper_util")).collect();
        lines[lines.len().saturating_sub(80)..].join("\n")
    }

    /// Runs an imaplib script (with [`PRELUDE`]) as `login`; panics with
    /// its output and the gateway log unless it exits 0. Returns stdout.
    fn py(&self, login: &str, script: &str) -> String {
        let python = kc_tests::require_tool("python3");
        let out = Command::new(python)
            .arg("-c")
            .arg(format!("{PRELUDE}\n{script}"))
            .arg("127.0.0.1")
            .arg(self.imap_port.to_string())
            .arg(login)
            .arg(password(login))
            .output()
            .expect("run python3");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "imaplib script failed ({}):\n--- stdout:\n{stdout}\n--- stderr:\n{}\n--- gateway log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        stdout
    }
}

/// A user on n1 with the `imap` feature (kc-server, as KC, disables imap
/// and pop3 by default: `disabled_features = imap pop3`).
fn imap_user(login: &str) -> UserSpec {
    let mut u = UserSpec::new(login, "n1");
    u.extra.push("kopanoEnabledFeatures: imap".into());
    u
}

/// Shared helpers for the imaplib scripts (argv: host port user password).
const PRELUDE: &str = r#"
import imaplib, re, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def conn():
    M = imaplib.IMAP4(host, port, timeout=120)
    M.login(user, pw)
    return M
def ok(r):
    typ, data = r
    assert typ == 'OK', (typ, data)
    return data
def msg(i, extra=''):
    return ('From: Sender <sender@example.net>\r\nTo: %s@example.com\r\nSubject: test %s\r\n'
            'Message-ID: <%s@example.net>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nbody %s\r\n%s'
            % (user, i, i, i, extra)).encode()
def uids(M):
    return [int(x) for x in ok(M.uid('SEARCH', None, 'ALL'))[0].split()]
"#;

#[test]
fn expunge_semantics_and_uid_expunge() {
    let env = Env::start(&[imap_user("alice"), UserSpec::new("nora", "n1")]);
    // Without the imap feature, LOGIN is refused with a clear text.
    let mut c = Raw::connect(env.addr());
    let l = c.send(
        format!("a LOGIN nora {}\r\n", password("nora")).as_bytes(),
        "a",
    );
    assert!(
        l.starts_with("a NO") && l.contains("IMAP access is disabled"),
        "{l}"
    );
    let out = env.py(
        "alice",
        r#"
M = conn()
ok(M.create('Work'))
for i in range(4):
    ok(M.append('Work', None, None, msg('w%d' % i)))
d = ok(M.select('Work'))
assert d[0] == b'4', d
# Bodies of several messages (read ahead), in sequence order.
d = ok(M.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])'))
subjects = [x[1] for x in d if isinstance(x, tuple)]
assert subjects == [b'Subject: test w%d\r\n\r\n' % i for i in range(4)], subjects
assert ok(M.search(None, 'OR', 'SUBJECT', 'w2', 'FLAGGED'))[0].split() == [b'3']
assert ok(M.search(None, 'NOT', 'BODY', 'w1', '2:*'))[0].split() == [b'3', b'4']
assert ok(M.search(None, 'TEXT', '"BODY W3"'))[0].split() == [b'4']
ok(M.store('2', '+FLAGS', '(\\Deleted)'))
# KC: a deleted message stays until EXPUNGE.
d = ok(M.fetch('1:*', '(FLAGS)'))
assert len(d) == 4 and b'\\Deleted' in d[1], d
N = conn()
d = ok(N.select('Work'))
assert d[0] == b'4', d
assert ok(N.search(None, 'DELETED'))[0].split() == [b'2']
assert ok(N.search(None, 'UNDELETED'))[0].split() == [b'1', b'3', b'4']
typ, d = M.expunge()
assert typ == 'OK' and d == [b'2'], (typ, d)
assert ok(M.search(None, 'ALL'))[0].split() == [b'1', b'2', b'3']
# The other session learns about it on NOOP.
ok(N.noop())
assert N.untagged_responses.get('EXPUNGE') == [b'2'], N.untagged_responses
assert ok(N.search(None, 'ALL'))[0].split() == [b'1', b'2', b'3']
# UID EXPUNGE removes only the given UIDs (UIDPLUS).
u = uids(M)
ok(M.store('1:2', '+FLAGS', '(\\Deleted)'))
M.untagged_responses.clear()
typ, d = M._simple_command('UID', 'EXPUNGE', str(u[0]))
assert typ == 'OK' and M.untagged_responses.get('EXPUNGE') == [b'1'], (typ, d, M.untagged_responses)
assert uids(M) == u[1:], (uids(M), u)
d = ok(M.fetch('1', '(FLAGS)'))
assert b'\\Deleted' in d[0], d
# CLOSE expunges silently.
ok(M.close())
d = ok(M.select('Work'))
assert d[0] == b'1', d
print('PASS')
"#,
    );
    assert!(out.contains("PASS"), "{out}");
}

#[test]
fn move_list_special_use_and_subscriptions() {
    let env = Env::start(&[imap_user("bob")]);
    let out = env.py(
        "bob",
        r#"
M = conn()
lines = ok(M.list())
text = b'\n'.join(lines)
assert b'\\Sent' in text and b'"Sent Items"' in text, text
assert b'\\Trash' in text and b'\\Drafts' in text and b'\\Junk' in text, text
assert b'INBOX' in text, text
# imap_only_mailfolders (default yes) hides calendar and contacts.
assert b'Calendar' not in text and b'Contacts' not in text, text
# Until a subscription is changed, every mail folder counts as subscribed.
d = ok(M.lsub())
assert any(l.endswith(b' INBOX') for l in d) and any(l.endswith(b'"Sent Items"') for l in d), d
ok(M.unsubscribe('"Sent Items"'))
d = ok(M.lsub())
assert any(l.endswith(b' INBOX') for l in d) and not any(b'Sent Items' in l for l in d), d
ok(M.create('Archive/2024'))
d = ok(M.list('""', 'Archive*'))
assert any(b'\\HasChildren' in l and l.endswith(b' Archive') for l in d), d
assert any(b'\\HasNoChildren' in l and l.endswith(b'Archive/2024') for l in d), d
# Non-ASCII names round-trip as modified UTF-7.
ok(M.create('&AMQ-pfel'))
assert any(b'&AMQ-pfel' in l for l in ok(M.list()))
ok(M.append('INBOX', None, None, msg('m1')))
ok(M.append('INBOX', None, None, msg('m2')))
ok(M.select('INBOX'))
u = uids(M)
assert len(u) == 2, u
M.untagged_responses.clear()
typ, d = M.uid('MOVE', str(u[0]), 'Archive/2024')
assert typ == 'OK', (typ, d)
oks = b' '.join(M.untagged_responses.get('OK', []))
assert b'COPYUID' in oks, M.untagged_responses
assert M.untagged_responses.get('EXPUNGE') == [b'1'], M.untagged_responses
assert uids(M) == u[1:]
d = ok(M.status('Archive/2024', '(MESSAGES UIDNEXT)'))
assert b'MESSAGES 1' in d[0], d
# COPY keeps the source.
typ, d = M._simple_command('UID', 'COPY', str(u[1]), 'Archive')
assert typ == 'OK' and b'COPYUID' in d[0], (typ, d)
assert uids(M) == u[1:]
ok(M.subscribe('Archive/2024'))
d = ok(M.lsub())
assert any(l.endswith(b'Archive/2024') for l in d), d
# RENAME keeps the subscription.
ok(M.rename('Archive/2024', 'Archive/Old'))
d = ok(M.lsub())
assert any(l.endswith(b'Archive/Old') for l in d), d
typ, d = M.select('Archive/2024')
assert typ == 'NO', (typ, d)
d = ok(M.select('Archive/Old'))
assert d[0] == b'1', d
typ, d = M.delete('INBOX')
assert typ == 'NO', (typ, d)
print('PASS')
"#,
    );
    assert!(out.contains("PASS"), "{out}");
}

/// Prints `UIDVALIDITY uids...` of INBOX and the subscriptions.
const STATE: &str = r#"
M = conn()
ok(M.select('INBOX'))
v = M.response('UIDVALIDITY')[1][0].decode()
subs = ok(M.lsub())
print('STATE', v, ' '.join(str(x) for x in uids(M)), '|', b' '.join(s for s in subs if s).decode())
"#;

fn state_line(out: &str) -> String {
    out.lines()
        .find(|l| l.starts_with("STATE"))
        .unwrap_or_else(|| panic!("no STATE in {out}"))
        .to_string()
}

#[test]
fn uids_stable_across_reconnect_and_gateway_restart() {
    let mut env = Env::start(&[imap_user("carol")]);
    env.py(
        "carol",
        r#"
M = conn()
for i in range(5):
    ok(M.append('INBOX', None, None, msg('s%d' % i)))
ok(M.create('Keep'))
ok(M.subscribe('Keep'))
ok(M.select('INBOX'))
ok(M.store('3', '+FLAGS', '(\\Deleted)'))
ok(M.expunge())
"#,
    );
    let first = state_line(&env.py("carol", STATE));
    let again = state_line(&env.py("carol", STATE));
    assert_eq!(first, again);
    assert!(first.contains("Keep"), "{first}");
    let listed = first.split('|').next().unwrap_or_default();
    assert_eq!(listed.split_whitespace().count(), 2 + 4, "{first}");
    env.start_gateway();
    let after = state_line(&env.py("carol", STATE));
    assert_eq!(
        first, after,
        "UIDs or subscriptions changed across a gateway restart"
    );
    // Subscriptions are a store property, not gateway-local state: the
    // stopgap's `kc-gateway-imap/` under the gateway's temporary directory
    // is not written, so another gateway host sees the same list.
    let tmp = gateway_tmp();
    assert!(tmp.is_dir(), "{}", tmp.display());
    let stopgap = tmp.join("kc-gateway-imap");
    assert!(
        !stopgap.exists(),
        "gateway kept IMAP state under its temp dir: {}",
        stopgap.display()
    );
}

#[test]
fn idle_sees_lmtp_delivery_and_flag_changes() {
    let env = Env::start(&[imap_user("dave")]);
    env.py(
        "dave",
        "M = conn()\nok(M.append('INBOX', None, None, msg('first')))\n",
    );
    let script = format!(
        "{PRELUDE}\n{}",
        r#"
# W starts the user's change watcher (with W's store session) and then
# logs out while M idles: M must still hear about the delivery.
W = conn()
ok(W.select('INBOX'))
M = conn()
d = ok(M.select('INBOX'))
assert d[0] == b'1', d
tag = M._new_tag()
M.send(tag + b' IDLE\r\n')
line = M.readline()
assert line.startswith(b'+'), line
W.logout()
print('IDLING', flush=True)
while True:
    line = M.readline()
    assert line, 'connection closed during IDLE'
    if line.rstrip().endswith(b'EXISTS'):
        break
print('GOT', line.decode().strip(), flush=True)
assert line.startswith(b'* 2 EXISTS'), line
N = conn()
ok(N.select('INBOX'))
ok(N.store('2', '+FLAGS', '(\\Flagged)'))
while True:
    line = M.readline()
    assert line, 'connection closed during IDLE'
    if b'FETCH' in line and b'\\Flagged' in line:
        break
M.send(b'DONE\r\n')
while True:
    line = M.readline()
    if line.startswith(tag):
        break
assert line.startswith(tag + b' OK'), line
d = ok(M.fetch('2', '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])'))
assert b'Delivered while idling' in d[0][1], d
print('PASS', flush=True)
"#
    );
    let python = kc_tests::require_tool("python3");
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg("127.0.0.1")
        .arg(env.imap_port.to_string())
        .arg("dave")
        .arg(password("dave"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = String::new();
    let mut line = String::new();
    while out.read_line(&mut line).unwrap_or(0) > 0 {
        seen.push_str(&line);
        if line.starts_with("IDLING") {
            break;
        }
        line.clear();
    }
    assert!(
        seen.contains("IDLING"),
        "script did not reach IDLE: {seen}\n{}",
        env.log()
    );
    let mut lmtp = LmtpClient::connect(
        env.cluster.node("n1").lmtp_addr(),
        &env.cluster.base.join("lmtp"),
    );
    let r = lmtp.deliver(
        "sender@example.net",
        &["dave@example.com"],
        b"From: sender@example.net\r\nTo: dave@example.com\r\nSubject: Delivered while idling\r\n\r\nhello\r\n",
    );
    assert_eq!(r.data.first().map(|d| d.0), Some(250), "{r:?}");
    lmtp.finish();
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let status = child.wait().expect("wait python3");
    assert!(
        status.success() && rest.contains("PASS"),
        "IDLE script failed: {seen}{rest}\n{err}\n{}",
        env.log()
    );
}

#[test]
fn condstore_and_qresync() {
    let env = Env::start(&[imap_user("erin")]);
    let out = env.py(
        "erin",
        r#"
M = conn()
ok(M.create('Cs'))
for i in range(3):
    ok(M.append('Cs', None, None, msg('c%d' % i)))
caps = ok(M.capability())[0].decode().split()
assert 'CONDSTORE' in caps and 'IDLE' in caps and 'MOVE' in caps and 'UIDPLUS' in caps, caps
ok(M.enable('CONDSTORE'))
ok(M.select('Cs'))
h0 = int(M.response('HIGHESTMODSEQ')[1][0])
assert h0 > 0, h0
d = ok(M.fetch('1:*', '(MODSEQ)'))
mods = [int(re.search(rb'MODSEQ \((\d+)\)', x).group(1)) for x in d]
assert max(mods) <= h0, (mods, h0)
ok(M.store('2', '+FLAGS', '(\\Flagged)'))
d = ok(M.fetch('1:*', '(FLAGS) (CHANGEDSINCE %d)' % h0))
d = [x for x in d if x]
assert len(d) == 1 and d[0].startswith(b'2 ') and b'\\Flagged' in d[0] and b'MODSEQ' in d[0], d
d = ok(M.status('Cs', '(HIGHESTMODSEQ)'))
h1 = int(re.search(rb'HIGHESTMODSEQ (\d+)', d[0]).group(1))
assert h1 > h0, (h0, h1)
# Message 2 changed after h0: a conditional store must not touch it.
typ, d = M._simple_command('STORE', '1:2', '(UNCHANGEDSINCE %d)' % h0, '+FLAGS', '(\\Seen)')
assert typ == 'OK' and b'[MODIFIED 2]' in d[0], (typ, d)
M.untagged_responses.clear()
d = ok(M.fetch('1:2', '(FLAGS)'))
assert b'\\Seen' in d[0] and b'\\Seen' not in d[1], d
typ, d = M.uid('SEARCH', None, 'MODSEQ %d' % (h0 + 1))
assert typ == 'OK' and b'MODSEQ' in d[0], d
# QRESYNC: a client that knew the mailbox at h0 resynchronises in one SELECT.
u = uids(M)
v = int(re.search(rb'UIDVALIDITY (\d+)', ok(M.status('Cs', '(UIDVALIDITY)'))[0]).group(1))
ok(M.store('3', '+FLAGS', '(\\Deleted)'))
ok(M.expunge())
Q = conn()
ok(Q.enable('QRESYNC'))
typ, d = Q._simple_command('SELECT', 'Cs', '(QRESYNC (%d %d))' % (v, h0))
assert typ == 'OK', (typ, d)
Q.state = 'SELECTED'
van = Q.untagged_responses.get('VANISHED')
assert van == [b'(EARLIER) %d' % u[2]], (van, u)
fetched = b' '.join(Q.untagged_responses.get('FETCH', []))
assert b'UID %d ' % u[0] in fetched and b'UID %d ' % u[1] in fetched and b'MODSEQ' in fetched, fetched
Q.untagged_responses.clear()
# Live expunges reach a QRESYNC session as VANISHED, not EXPUNGE.
ok(M.store('1', '+FLAGS', '(\\Deleted)'))
ok(M.expunge())
ok(Q.noop())
assert Q.untagged_responses.get('VANISHED') == [b'%d' % u[0]], Q.untagged_responses
assert 'EXPUNGE' not in Q.untagged_responses, Q.untagged_responses
Q.untagged_responses.clear()
typ, d = Q._simple_command('UID', 'FETCH', '1:*', '(FLAGS)', '(CHANGEDSINCE %d VANISHED)' % h0)
assert typ == 'OK', (typ, d)
van = Q.untagged_responses.get('VANISHED', [b''])[0]
assert van.startswith(b'(EARLIER) ') and b'%d' % u[0] in van, Q.untagged_responses
print('PASS')
"#,
    );
    assert!(out.contains("PASS"), "{out}");
}

#[test]
fn large_literal_partial_fetch_and_structure() {
    let env = Env::start(&[imap_user("frank")]);
    let out = env.py(
        "frank",
        &format!(
            "{ATTACHED_PY}{}",
            r#"
line = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmn\r\n'
big = msg('big', line * 20000)
assert len(big) > 1500000
M = conn()
typ, d = M.append('INBOX', '(\\Seen $Label1)', None, big)
assert typ == 'OK' and b'APPENDUID' in d[0], (typ, d)
ok(M.select('INBOX'))
u = uids(M)[-1]
d = ok(M.uid('FETCH', str(u), '(BODY.PEEK[])'))
assert d[0][1] == big, (len(d[0][1]), len(big))
d = ok(M.uid('FETCH', str(u), '(BODY.PEEK[]<0.1024>)'))
assert b'BODY[]<0>' in d[0][0] and d[0][1] == big[:1024], d[0][0]
d = ok(M.uid('FETCH', str(u), '(BODY.PEEK[TEXT]<100.50>)'))
body = big.split(b'\r\n\r\n', 1)[1]
assert d[0][1] == body[100:150], d
d = ok(M.uid('FETCH', str(u), '(FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE INTERNALDATE)'))
head = d[0] if isinstance(d[0], bytes) else d[0][0]
assert b'RFC822.SIZE %d' % len(big) in head, head[:300]
assert b'$Label1' in head and b'\\Seen' in head, head[:300]
assert b'"test big"' in head and b'"TEXT" "PLAIN"' in head.upper(), head[:600]
typ, d = M.append('INBOX', None, None, ATTACHED)
assert typ == 'OK', (typ, d)
print('PASS')
"#
        ),
    );
    assert!(out.contains("PASS"), "{out}");

    // Header-only FETCH items are served from the node's stored skeleton:
    // with the attachment files moved away they still give the right bytes
    // (a whole-message read would fail now).
    let att = env.cluster.nodes[0].dir.join("attachments");
    let away = env.cluster.nodes[0].dir.join("attachments.away");
    std::fs::rename(&att, &away).expect("move attachment files away");
    let headers = env.py(
        "frank",
        &format!(
            "{ATTACHED_PY}{}",
            r#"
M = conn()
ok(M.select('INBOX', readonly=True))
u = uids(M)[-1]
head = ATTACHED.split(b'\r\n\r\n', 1)[0] + b'\r\n\r\n'
d = ok(M.uid('FETCH', str(u), '(BODY.PEEK[HEADER])'))
assert d[0][1] == head, d
d = ok(M.uid('FETCH', str(u), '(RFC822.HEADER)'))
assert d[0][1] == head, d
d = ok(M.uid('FETCH', str(u), '(BODY.PEEK[HEADER.FIELDS (SUBJECT X-BIG)])'))
assert d[0][1] == b'Subject: with attachment\r\nX-Big: yes\r\n\r\n', d
d = ok(M.uid('FETCH', str(u), '(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)'))
line = d[0] if isinstance(d[0], bytes) else d[0][0]
assert b'"with attachment"' in line, line
assert b'RFC822.SIZE %d' % len(ATTACHED) in line, line
d = ok(M.uid('FETCH', str(u), '(BODY.PEEK[HEADER]<0.9>)'))
assert d[0][1] == head[:9], d
# Any body data still needs the whole message: refused while the file is away.
typ, d = M.uid('FETCH', str(u), '(BODY.PEEK[TEXT])')
assert typ != 'OK' or d[0] is None or not isinstance(d[0], tuple), (typ, d)
print('PASS')
"#
        ),
    );
    std::fs::rename(&away, &att).expect("move attachment files back");
    assert!(headers.contains("PASS"), "{headers}");
    let back = env.py(
        "frank",
        &format!(
            "{ATTACHED_PY}{}",
            r#"
M = conn()
ok(M.select('INBOX', readonly=True))
u = uids(M)[-1]
d = ok(M.uid('FETCH', str(u), '(BODY.PEEK[])'))
assert d[0][1] == ATTACHED, len(d[0][1])
print('PASS')
"#
        ),
    );
    assert!(back.contains("PASS"), "{back}");
}

/// `ATTACHED`: a multipart message with a ~1.3 MB base64 attachment (kept
/// by the node as an attachment file).
const ATTACHED_PY: &str = r#"
import base64
_blob = base64.encodebytes(bytes(range(256)) * 4000).replace(b'\n', b'\r\n')
ATTACHED = (b'From: Sender <sender@example.net>\r\nTo: frank@example.com\r\n'
    b'Subject: with attachment\r\nX-Big: yes\r\nMIME-Version: 1.0\r\n'
    b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
    b'--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n'
    b'--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    + _blob + b'--b1--\r\n')
"#;

/// A raw IMAP connection for input no library would send.
struct Raw {
    s: TcpStream,
    r: BufReader<TcpStream>,
}

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(120)))
            .expect("timeout");
        let r = BufReader::new(s.try_clone().expect("clone"));
        let mut raw = Raw { s, r };
        let greeting = raw.line();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        raw
    }

    fn line(&mut self) -> String {
        let mut buf = Vec::new();
        self.r.read_until(b'\n', &mut buf).expect("read");
        assert!(!buf.is_empty(), "connection closed");
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Sends bytes and reads until a line starting with `tag` or `* BAD`;
    /// returns that line.
    fn send(&mut self, bytes: &[u8], tag: &str) -> String {
        self.s.write_all(bytes).expect("write");
        loop {
            let l = self.line();
            if l.starts_with(&format!("{tag} ")) || l.starts_with("* BAD") {
                return l;
            }
        }
    }

    fn noop_ok(&mut self) {
        let l = self.send(b"z NOOP\r\n", "z");
        assert!(l.starts_with("z OK"), "session did not carry on: {l}");
    }
}

#[test]
fn malformed_commands_get_bad_and_session_carries_on() {
    let env = Env::start(&[imap_user("gina")]);
    let mut c = Raw::connect(env.addr());
    let l = c.send(
        format!("a LOGIN gina {}\r\n", password("gina")).as_bytes(),
        "a",
    );
    assert!(l.starts_with("a OK"), "{l}");
    let l = c.send(b"s SELECT INBOX\r\n", "s");
    assert!(l.starts_with("s OK"), "{l}");
    let deep = format!(
        "b3 SEARCH {}ALL{}\r\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let deep_short = format!("b4 SEARCH {}ALL{}\r\n", "(".repeat(1000), ")".repeat(1000));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"b1 FETCH 1 (FLAGS\r\n".to_vec(), "b1"),
        (b"b2 APPEND INBOX {9223372036854775808}\r\n".to_vec(), "b2"),
        (deep.into_bytes(), "b3"),
        (deep_short.into_bytes(), "b4"),
        (b"b5 SELECT &Jjo\r\n".to_vec(), "b5"),
        (b"b6 CREATE &AGE-\r\n".to_vec(), "b6"),
        (b"\x00\xff\xfe\x80garbage\x01\x02\r\n".to_vec(), "*"),
        (b"b7 CREATE \"unterminated\r\n".to_vec(), "b7"),
        (
            b"b8 UID FETCH 1:* (BODY[1.2.3.4.5.6.7.8.9.10.11)\r\n".to_vec(),
            "b8",
        ),
        (b"b9 STORE 1:* +FLAGS (\\Seen\r\n".to_vec(), "b9"),
        (b"b10 FROBNICATE\r\n".to_vec(), "b10"),
    ];
    for (bytes, tag) in cases {
        eprintln!("sending case {tag}");
        let l = c.send(&bytes, tag);
        // A name that is not valid modified UTF-7 is well-formed syntax for
        // a mailbox that cannot exist: NO, not BAD (issue #21, bug 7).
        let invalid_name = tag == "b5" || tag == "b6";
        assert!(
            (l.contains(" BAD") && !invalid_name)
                || (invalid_name && l.starts_with(&format!("{tag} NO")))
                || (tag.starts_with("b2") && l.contains("[TOOBIG]")),
            "{tag}: expected BAD, got {l}\n{}",
            env.log()
        );
        c.noop_ok();
    }
    // A non-synchronising literal just under the limit still works (LITERAL+).
    let m = b"Subject: lit\r\n\r\nliteral plus\r\n";
    let mut cmd = format!("c1 APPEND INBOX {{{}+}}\r\n", m.len()).into_bytes();
    cmd.extend_from_slice(m);
    cmd.extend_from_slice(b"\r\n");
    let l = c.send(&cmd, "c1");
    assert!(l.starts_with("c1 OK") && l.contains("APPENDUID"), "{l}");
    let l = c.send(b"q LOGOUT\r\n", "q");
    assert!(l.starts_with("q OK"), "{l}");
    // A non-synchronising literal too big to skip: BAD, then the server
    // may close the connection (RFC 7888 §4).
    let mut c = Raw::connect(env.addr());
    let l = c.send(
        format!("a LOGIN gina {}\r\n", password("gina")).as_bytes(),
        "a",
    );
    assert!(l.starts_with("a OK"), "{l}");
    let l = c.send(b"b APPEND INBOX {9223372036854775808+}\r\n", "b");
    assert!(l.starts_with("b BAD") && l.contains("[TOOBIG]"), "{l}");
}

#[test]
fn mbsync_two_way_sync() {
    let mbsync = kc_tests::require_tool("mbsync");
    let env = Env::start(&[imap_user("hank")]);
    env.py(
        "hank",
        r#"
M = conn()
ok(M.create('Projects'))
for i in range(3):
    ok(M.append('INBOX', None, None, msg('i%d' % i)))
ok(M.append('Projects', None, None, msg('p0')))
"#,
    );
    let dir = env.cluster.base.join("mbsync");
    let maildir = dir.join("mail");
    std::fs::create_dir_all(&maildir).expect("mkdir");
    let rc = dir.join("mbsyncrc");
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount kc\nHost 127.0.0.1\nPort {port}\nUser hank\nPass {pw}\nSSLType None\nAuthMechs LOGIN\n\n\
             IMAPStore kc-remote\nAccount kc\n\n\
             MaildirStore kc-local\nPath {md}/\nInbox {md}/INBOX\nSubFolders Verbatim\n\n\
             Channel kc\nFar :kc-remote:\nNear :kc-local:\nPatterns INBOX Projects\nCreate Both\nExpunge Both\nSyncState *\n",
            port = env.imap_port,
            pw = password("hank"),
            md = maildir.display()
        ),
    )
    .expect("write mbsyncrc");
    let run = || {
        let out = Command::new(&mbsync)
            .arg("-c")
            .arg(&rc)
            .arg("-a")
            .output()
            .expect("run mbsync");
        assert!(
            out.status.success(),
            "mbsync failed: {}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            env.log()
        );
    };
    run();
    let count = |d: &std::path::Path| {
        ["cur", "new"]
            .iter()
            .map(|s| std::fs::read_dir(d.join(s)).map(|r| r.count()).unwrap_or(0))
            .sum::<usize>()
    };
    assert_eq!(count(&maildir.join("INBOX")), 3);
    assert_eq!(count(&maildir.join("Projects")), 1);
    // Local changes: a new message, and one message marked seen.
    std::fs::write(
        maildir.join("INBOX/new/1800000000.local.host"),
        b"From: me@example.net\r\nSubject: written locally\r\n\r\nlocal\r\n",
    )
    .expect("write local message");
    let cur = maildir.join("INBOX/cur");
    let first = std::fs::read_dir(&cur)
        .expect("cur")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| !p.to_string_lossy().contains(":2,S"));
    let first = first.or_else(|| {
        std::fs::read_dir(maildir.join("INBOX/new"))
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| !p.to_string_lossy().contains("local.host"))
    });
    let first = first.expect("a synced message");
    let name = first
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let base = name.split(":2,").next().unwrap_or(&name).to_string();
    std::fs::rename(&first, cur.join(format!("{base}:2,S"))).expect("mark seen");
    run();
    let out = env.py(
        "hank",
        r#"
M = conn()
ok(M.select('INBOX'))
assert len(uids(M)) == 4, uids(M)
assert ok(M.search(None, 'SUBJECT', '"written locally"'))[0], 'local message not uploaded'
assert len(ok(M.search(None, 'SEEN'))[0].split()) == 1, ok(M.search(None, 'SEEN'))
print('PASS')
"#,
    );
    assert!(out.contains("PASS"), "{out}");
}

#[test]
fn offlineimap_two_way_sync() {
    let offlineimap = kc_tests::require_tool("offlineimap");
    let env = Env::start(&[imap_user("ivy")]);
    env.py(
        "ivy",
        r#"
M = conn()
ok(M.create('Projects'))
for i in range(3):
    ok(M.append('INBOX', '(\\Flagged)' if i == 0 else None, None, msg('o%d' % i)))
ok(M.append('Projects', None, None, msg('q0')))
"#,
    );
    let dir = env.cluster.base.join("offlineimap");
    let maildir = dir.join("mail");
    std::fs::create_dir_all(&maildir).expect("mkdir");
    let rc = dir.join("offlineimaprc");
    std::fs::write(
        &rc,
        format!(
            "[general]\naccounts = kc\nmetadata = {meta}\n\n\
             [Account kc]\nlocalrepository = local\nremoterepository = remote\n\n\
             [Repository local]\ntype = Maildir\nlocalfolders = {md}\n\n\
             [Repository remote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {port}\n\
             remoteuser = ivy\nremotepass = {pw}\nssl = no\nstarttls = no\n\
             folderfilter = lambda f: f in ['INBOX', 'Projects']\n",
            meta = dir.join("meta").display(),
            md = maildir.display(),
            port = env.imap_port,
            pw = password("ivy"),
        ),
    )
    .expect("write offlineimaprc");
    let run = || {
        let out = Command::new(&offlineimap)
            .arg("-c")
            .arg(&rc)
            .arg("-o")
            .arg("-u")
            .arg("basic")
            .output()
            .expect("run offlineimap");
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && !text.contains("ERROR"),
            "offlineimap failed: {text}\n{}",
            env.log()
        );
    };
    run();
    let files = |d: &std::path::Path| -> Vec<std::path::PathBuf> {
        ["cur", "new"]
            .iter()
            .flat_map(|s| std::fs::read_dir(d.join(s)).into_iter().flatten())
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect()
    };
    let inbox = files(&maildir.join("INBOX"));
    assert_eq!(inbox.len(), 3, "{inbox:?}");
    assert_eq!(files(&maildir.join("Projects")).len(), 1);
    assert!(
        inbox
            .iter()
            .any(|p| p.to_string_lossy().contains(",F") || p.to_string_lossy().ends_with("F")),
        "\\Flagged did not arrive as maildir flag F: {inbox:?}"
    );
    std::fs::write(
        maildir.join("INBOX/new/1800000001.local.host"),
        b"From: me@example.net\r\nSubject: offline local\r\n\r\nlocal\r\n",
    )
    .expect("write local message");
    let target = inbox
        .iter()
        .find(|p| !p.to_string_lossy().contains(":2,F"))
        .cloned()
        .expect("an unflagged message");
    let name = target
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let base = name.split(":2,").next().unwrap_or(&name).to_string();
    std::fs::rename(
        &target,
        maildir.join("INBOX/cur").join(format!("{base}:2,S")),
    )
    .expect("mark seen");
    run();
    let out = env.py(
        "ivy",
        r#"
M = conn()
ok(M.select('INBOX'))
assert len(uids(M)) == 4, uids(M)
assert ok(M.search(None, 'SUBJECT', '"offline local"'))[0], 'local message not uploaded'
assert len(ok(M.search(None, 'SEEN'))[0].split()) == 1, ok(M.search(None, 'SEEN'))
print('PASS')
"#,
    );
    assert!(out.contains("PASS"), "{out}");
}

#[test]
fn starttls_authenticate_limits_and_failure_cutoff() {
    let env = Env::start_with(
        &[imap_user("judy")],
        &[
            "imap_max_messagesize = 1",
            "imap_max_fail_commands = 3",
            "imap_only_mailfolders = no",
            "trusted_edge_addresses = 127.0.0.0/8",
        ],
    );
    let ca = env.cluster.pki.ca_file.display().to_string();
    let out = env.py(
        "judy",
        &format!(
            r#"
import ssl
CA = {ca:?}
M = imaplib.IMAP4(host, port, timeout=120)
assert 'STARTTLS' in M.capabilities and 'AUTH=PLAIN' in M.capabilities, M.capabilities
ctx = ssl.create_default_context(cafile=CA)
ctx.check_hostname = False
ok(M.starttls(ssl_context=ctx))
assert 'STARTTLS' not in M.capabilities, M.capabilities
# This peer is a trusted edge: its ID x-originating-ip names the client.
typ, d = M.xatom('ID', '("name" "pytest" "x-originating-ip" "192.0.2.7")')
assert typ == 'OK', (typ, d)
# AUTHENTICATE PLAIN without an initial response (continuation round trip).
typ, d = M.authenticate('PLAIN', lambda _: ('\0%s\0%s' % (user, pw)).encode())
assert typ == 'OK', (typ, d)
caps = ok(M.capability())[0].decode().split()
assert 'IDLE' in caps and 'NAMESPACE' in caps, caps
d = ok(M.namespace())
assert d[0] == b'(("" "/")) NIL NIL', d
# imap_only_mailfolders = no: calendar and contacts folders are listed too.
text = b'\n'.join(ok(M.list()))
assert b'Calendar' in text and b'Contacts' in text, text
# imap_max_messagesize = 1 MB: a larger APPEND is refused, the session goes on.
line = 'x' * 76 + '\r\n'
typ, d = M.append('INBOX', None, None, msg('huge', line * 20000))
assert typ == 'NO' and b'TOOBIG' in d[0], (typ, d)
ok(M.append('INBOX', None, None, msg('small')))
ok(M.select('INBOX'))
assert len(uids(M)) == 1
print('PASS')
"#
        ),
    );
    assert!(out.contains("PASS"), "{out}");
    let log = env.gw.as_ref().map(|g| g.log()).unwrap_or_default();
    assert!(
        log.lines()
            .any(|l| l.contains("client=192.0.2.7") && l.contains("logged in")),
        "the originating address from ID was not used: {}",
        env.log()
    );
    // imap_max_fail_commands = 3: the third failure in a row ends the session.
    let mut c = Raw::connect(env.addr());
    let l = c.send(b"a1 FROB\r\n", "a1");
    assert!(l.starts_with("a1 BAD"), "{l}");
    let l = c.send(b"a2 FROB\r\n", "a2");
    assert!(l.starts_with("a2 BAD"), "{l}");
    c.s.write_all(b"a3 FROB\r\n").expect("write");
    let l = c.line();
    assert!(l.starts_with("a3 BAD"), "{l}");
    let l = c.line();
    assert!(l.starts_with("* BYE"), "{l}");
}

#[test]
fn shutdown_says_bye_to_idling_clients() {
    let mut env = Env::start(&[imap_user("kate")]);
    let mut c = Raw::connect(env.addr());
    let l = c.send(
        format!("a LOGIN kate {}\r\n", password("kate")).as_bytes(),
        "a",
    );
    assert!(l.starts_with("a OK"), "{l}");
    let l = c.send(b"s SELECT INBOX\r\n", "s");
    assert!(l.starts_with("s OK"), "{l}");
    c.s.write_all(b"i IDLE\r\n").expect("write");
    let l = c.line();
    assert!(l.starts_with("+ "), "{l}");
    let status = env.gw.as_mut().and_then(|g| g.terminate());
    assert!(
        status.is_some_and(|s| s.success()),
        "gateway exit: {status:?}"
    );
    let l = c.line();
    assert!(l.starts_with("* BYE"), "{l}");
}
