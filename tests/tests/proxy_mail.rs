//! kc-proxy as an IMAP/POP3 edge in front of two real Dovecot "nodes".
//!
//! The directory (LDIF) homes alice on z1 (Dovecot on 127.0.0.1), bob on
//! node2 (Dovecot on 127.0.0.2) and carol on node3 (127.0.0.3, where nothing
//! listens). Each Dovecot holds one message whose subject names the node, so
//! a client can tell where its session landed. Clients are real: Python's
//! imaplib and poplib, curl, and raw sockets for malformed input.
//!
//! Needs: dovecot (Debian dovecot-imapd + dovecot-pop3d), python3, curl,
//! openssl. A missing tool fails the test.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kc_tests::proxy_support::{curl, start_edge, write_directory, DirNode, EdgeProc, Pki, Scratch};
use kc_tests::{free_port, require_tool, wait_for_port, Proc};

/// uid/gid of `nobody`: Dovecot refuses mail access as root.
const MAIL_UID: u32 = 65534;

/// A Dovecot instance playing one node's gateway.
struct DovecotNode {
    _proc: Proc,
    log: PathBuf,
}

impl DovecotNode {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn chown_tree(path: &Path) {
    std::os::unix::fs::chown(path, Some(MAIL_UID), Some(MAIL_UID)).expect("chown");
    if path.is_dir() {
        for e in std::fs::read_dir(path).expect("read_dir") {
            chown_tree(&e.expect("dir entry").path());
        }
    }
}

/// Starts Dovecot on `ip` with IMAP on `imap` and POP3 on `pop3`; each user
/// in `users` gets password `<login>-secret` and one message with subject
/// `hello from <node>`.
fn start_dovecot(
    dir: &Path,
    node: &str,
    ip: &str,
    imap: u16,
    pop3: u16,
    users: &[&str],
) -> DovecotNode {
    let dovecot = require_tool("dovecot");
    let root = dir.join(node);
    for sub in ["run", "state", "mail"] {
        std::fs::create_dir_all(root.join(sub)).expect("create dovecot dirs");
    }
    let mut passwd = String::new();
    for user in users {
        passwd.push_str(&format!("{user}:{{PLAIN}}{user}-secret\n"));
        let md = root.join("mail").join(user).join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(md.join(sub)).expect("create maildir");
        }
        std::fs::write(
            md.join("new").join(format!("1000.M1P1.{node}")),
            format!("From: test@example.com\r\nTo: {user}@example.com\r\nSubject: hello from {node}\r\n\r\nThis message lives on {node}.\r\n"),
        )
        .expect("write message");
    }
    chown_tree(&root.join("mail"));
    std::fs::write(root.join("passwd"), passwd).expect("write passwd");
    let log = root.join("dovecot.log");
    let conf = root.join("dovecot.conf");
    let r = root.display();
    std::fs::write(
        &conf,
        format!(
            "protocols = imap pop3\nlisten = {ip}\nbase_dir = {r}/run\nstate_dir = {r}/state\n\
             log_path = {r}/dovecot.log\nssl = no\ndisable_plaintext_auth = no\n\
             auth_mechanisms = plain login\nauth_failure_delay = 0\n\
             login_trusted_networks = 127.0.0.0/8\nmail_location = maildir:~/Maildir\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={MAIL_UID} gid={MAIL_UID} home={r}/mail/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    port = {imap}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  inet_listener pop3s {{\n    port = 0\n  }}\n}}\n\
             pop3_uidl_format = %08Xu%08Xv\n"
        ),
    )
    .expect("write dovecot.conf");
    let mut cmd = Command::new(dovecot);
    cmd.arg("-F").arg("-c").arg(&conf);
    let proc = Proc::spawn(&format!("dovecot-{node}"), cmd, dir);
    for port in [imap, pop3] {
        wait_for_port(
            format!("{ip}:{port}").parse().expect("address"),
            Duration::from_secs(20),
        );
    }
    DovecotNode { _proc: proc, log }
}

/// The Python side: imaplib/poplib scenarios and a raw TLS dialogue.
const CLIENT_PY: &str = r#"
import imaplib, json, poplib, socket, ssl, sys

mode, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
args = sys.argv[4:]
HOST = "127.0.0.1"

def out(*a):
    print(*a, flush=True)

def ctx():
    return ssl.create_default_context(cafile=ca)

def text(x):
    return x.decode(errors="replace") if isinstance(x, bytes) else str(x)

def subject(m):
    typ, dat = m.select("INBOX")
    out("SELECT:", typ)
    typ, dat = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out("SUBJECT:", text(dat[0][1]).strip())

def pop3_subject(p):
    resp, lines, octets = p.retr(1)
    subj = [l for l in lines if l.lower().startswith(b"subject:")]
    out("SUBJECT:", text(subj[0]).strip())

try:
    if mode == "imaps-login":
        m = imaplib.IMAP4_SSL(HOST, port, ssl_context=ctx())
        typ, dat = m.login(args[0], args[1])
        out("LOGIN:", typ, text(dat[0]))
        subject(m)
        m.logout()
    elif mode == "starttls-authenticate":
        m = imaplib.IMAP4(HOST, port)
        out("PRECAPS:", " ".join(m.capabilities))
        m.starttls(ssl_context=ctx())
        out("TLSCAPS:", " ".join(m.capabilities))
        cred = ("\0%s\0%s" % (args[0], args[1])).encode()
        typ, dat = m.authenticate("PLAIN", lambda _: cred)
        out("LOGIN:", typ, text(dat[0]))
        subject(m)
        m.logout()
    elif mode == "imaps-literal":
        # LOGIN with the password as a synchronising literal.
        m = imaplib.IMAP4_SSL(HOST, port, ssl_context=ctx())
        m.literal = args[1].encode()
        typ, dat = m._simple_command("LOGIN", args[0])
        out("LOGIN:", typ, text(dat[0]))
        m.state = "AUTH"
        subject(m)
        m.logout()
    elif mode == "imaps-wrong":
        m = imaplib.IMAP4_SSL(HOST, port, ssl_context=ctx())
        for i in range(int(args[2])):
            try:
                m.login(args[0], args[1])
                out("UNEXPECTED: logged in")
            except imaplib.IMAP4.error as e:
                out("NO:", e)
        m.logout()
    elif mode == "pop3-stls":
        p = poplib.POP3(HOST, port)
        out("CAPA:", " ".join(sorted(p.capa().keys())))
        p.stls(ctx())
        p.user(args[0])
        out("LOGIN:", text(p.pass_(args[1])))
        pop3_subject(p)
        p.quit()
    elif mode == "pop3s-login":
        p = poplib.POP3_SSL(HOST, port, context=ctx())
        p.user(args[0])
        out("LOGIN:", text(p.pass_(args[1])))
        pop3_subject(p)
        p.quit()
    elif mode == "imaps-raw":
        s = ctx().wrap_socket(socket.create_connection((HOST, port)), server_hostname=HOST)
        f = s.makefile("rb")
        out("S:", text(f.readline()).rstrip())
        for c in json.loads(args[0]):
            s.sendall(c.encode())
            tag = c.split(" ", 1)[0]
            while True:
                l = f.readline()
                if not l:
                    out("EOF")
                    break
                out("S:", text(l).rstrip())
                if text(l).startswith(tag + " "):
                    break
    else:
        out("ERROR: unknown mode", mode)
except Exception as e:
    out("ERROR:", type(e).__name__, e)
"#;

struct Setup {
    dir: Scratch,
    pki: Pki,
    edge: EdgeProc,
    node1: DovecotNode,
    node2: DovecotNode,
    imap: u16,
    imaps: u16,
    pop3: u16,
    pop3s: u16,
    script: PathBuf,
}

impl Setup {
    fn new(tag: &str) -> Setup {
        require_tool("python3");
        require_tool("curl");
        let dir = Scratch::new(tag);
        let pki = Pki::new(&dir.0);
        let (node_imap, node_pop3) = (free_port(), free_port());
        let node1 = start_dovecot(&dir.0, "z1", "127.0.0.1", node_imap, node_pop3, &["alice"]);
        let node2 = start_dovecot(&dir.0, "node2", "127.0.0.2", node_imap, node_pop3, &["bob"]);
        let node = |name: &str, address: &str| DirNode {
            name: name.into(),
            address: address.into(),
            http_port: 236,
            ssl_port: None,
            proxy_url: None,
            public: name == "z1",
        };
        let ldap = write_directory(
            &dir.0,
            &[
                node("z1", "127.0.0.1"),
                node("node2", "127.0.0.2"),
                node("node3", "127.0.0.3"),
            ],
            &[("alice", "z1"), ("bob", "node2"), ("carol", "node3")],
        );
        let (imap, imaps, pop3, pop3s) = (free_port(), free_port(), free_port(), free_port());
        let edge = start_edge(
            &dir.0,
            &pki,
            &format!(
                "node_source = ldap\nldap_config = {}\nnode_imap_port = {node_imap}\nnode_pop3_port = {node_pop3}\n\
                 imap_listen = 127.0.0.1:{imap}\nimaps_listen = 127.0.0.1:{imaps}\n\
                 pop3_listen = 127.0.0.1:{pop3}\npop3s_listen = 127.0.0.1:{pop3s}\nupstream_connect_timeout = 3\n",
                ldap.display()
            ),
        );
        for port in [imap, imaps, pop3, pop3s] {
            wait_for_port(
                SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_secs(20),
            );
        }
        let script = dir.0.join("client.py");
        std::fs::write(&script, CLIENT_PY).expect("write client.py");
        Setup {
            dir,
            pki,
            edge,
            node1,
            node2,
            imap,
            imaps,
            pop3,
            pop3s,
            script,
        }
    }

    fn ca(&self) -> String {
        self.pki.file("ca.pem").display().to_string()
    }

    /// Runs a client.py scenario; returns its output.
    fn py(&self, mode: &str, port: u16, args: &[&str]) -> String {
        let out = Command::new(require_tool("python3"))
            .arg(&self.script)
            .arg(mode)
            .arg(port.to_string())
            .arg(self.ca())
            .args(args)
            .current_dir(&self.dir.0)
            .output()
            .expect("run python3");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "client.py {mode} failed:\n{text}");
        text
    }

    fn context(&self) -> String {
        format!(
            "--- kc-proxy log:\n{}\n--- z1 log:\n{}\n--- node2 log:\n{}",
            self.edge.proc.log(),
            self.node1.log(),
            self.node2.log()
        )
    }

    fn metrics(&self) -> String {
        let r = curl(&[&format!("http://127.0.0.1:{}/metrics", self.edge.admin)]);
        assert_eq!(r.status, 200, "{r:?}");
        r.body
    }
}

/// curl for imaps:// and pop3s:// (the shared helper parses HTTP replies):
/// exit code, stdout, stderr.
fn curl_mail(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(require_tool("curl"))
        .arg("-sS")
        .args(args)
        .output()
        .expect("run curl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Sends `input` on a plain connection and reads until the server closes.
fn plain_dialogue(port: u16, input: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(input).expect("send");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits (up to 30 s) for a Dovecot log line matching `pred`: Dovecot's log
/// process writes asynchronously. Returns the whole log.
fn wait_for_log(node: &DovecotNode, pred: impl Fn(&str) -> bool) -> String {
    let start = std::time::Instant::now();
    loop {
        let log = node.log();
        if log.lines().any(&pred) {
            return log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the node never logged the expected login:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn line_starting<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(prefix))
}

fn metric(text: &str, name_and_labels: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn logins_land_on_the_home_node() {
    let s = Setup::new("mail-route");
    let ca = s.ca();

    // IMAPS + LOGIN: alice lives on z1, bob on node2.
    let out = s.py("imaps-login", s.imaps, &["alice", "alice-secret"]);
    assert!(
        out.contains("SUBJECT: Subject: hello from z1"),
        "{out}\n{}",
        s.context()
    );
    let login = line_starting(&out, "LOGIN:").unwrap_or_default();
    assert!(login.contains("OK [CAPABILITY IMAP4rev1"), "{out}");
    let out = s.py("imaps-login", s.imaps, &["bob", "bob-secret"]);
    assert!(
        out.contains("SUBJECT: Subject: hello from node2"),
        "{out}\n{}",
        s.context()
    );

    // STARTTLS on 143, then AUTHENTICATE PLAIN without SASL-IR (imaplib
    // waits for the continuation). Before TLS: STARTTLS and LOGINDISABLED;
    // after: AUTH=PLAIN; the post-login set is the same base list.
    let out = s.py("starttls-authenticate", s.imap, &["bob", "bob-secret"]);
    let pre = line_starting(&out, "PRECAPS:").unwrap_or_default();
    assert!(
        pre.contains("STARTTLS") && pre.contains("LOGINDISABLED"),
        "{out}"
    );
    assert!(!pre.contains("AUTH=PLAIN"), "{out}");
    let tls = line_starting(&out, "TLSCAPS:").unwrap_or_default();
    assert!(
        tls.contains("AUTH=PLAIN") && !tls.contains("STARTTLS"),
        "{out}"
    );
    for cap in ["IMAP4REV1", "IDLE", "LITERAL+", "SASL-IR", "ID"] {
        assert!(
            tls.to_ascii_uppercase().split(' ').any(|c| c == cap),
            "{cap}: {out}"
        );
    }
    assert!(
        out.contains("SUBJECT: Subject: hello from node2"),
        "{out}\n{}",
        s.context()
    );

    // LOGIN with a synchronising literal for the password.
    let out = s.py("imaps-literal", s.imaps, &["alice", "alice-secret"]);
    assert!(out.contains("LOGIN: OK"), "{out}\n{}", s.context());
    assert!(out.contains("SUBJECT: Subject: hello from z1"), "{out}");

    // LOGIN with non-synchronising literals (LITERAL+), pipelined with the
    // next command: both reach the node in order.
    // A client's own x-originating-ip claim is answered by the edge and
    // never reaches the node.
    let script = concat!(
        r#"["i1 ID (\"x-originating-ip\" \"192.0.2.66\")\r\n", "#,
        r#""a1 LOGIN {3+}\r\nbob {10+}\r\nbob-secret\r\na2 SELECT INBOX\r\n", "a3 LOGOUT\r\n"]"#
    );
    let out = s.py("imaps-raw", s.imaps, &[script]);
    assert!(
        out.contains("S: a1 OK [CAPABILITY"),
        "{out}\n{}",
        s.context()
    );
    assert!(out.contains("S: a3 OK"), "{out}");
    // a2 was answered by node2 (the raw runner stops reading at a1's reply,
    // so its answer arrives before a3's).
    assert!(out.contains("a2 OK"), "{out}");
    assert!(out.contains("S: i1 OK"), "{out}");

    // curl over imaps:// with SASL-IR (AUTHENTICATE PLAIN <initial response>),
    // from another loopback address: node2 must see that address (ID
    // x-originating-ip), not the edge's.
    let r = curl_mail(&[
        "--cacert",
        &ca,
        "--sasl-ir",
        "--interface",
        "127.0.0.9",
        "-u",
        "bob:bob-secret",
        &format!("imaps://127.0.0.1:{}/INBOX;UID=1", s.imaps),
    ]);
    assert_eq!(r.0, 0, "{r:?}\n{}", s.context());
    assert!(r.1.contains("This message lives on node2."), "{r:?}");
    let log = wait_for_log(&s.node2, |l| {
        l.contains("imap-login: Info: Login: user=<bob>") && l.contains("rip=127.0.0.9")
    });
    // Dovecot logs in order, so the earlier raw session's login is in too:
    // it came from the edge's view of the client, not the client's claim.
    assert!(
        !log.contains("192.0.2.66"),
        "a client's ID reached the node:\n{log}"
    );

    // POP3: curl over pop3s:// (AUTH PLAIN with an initial response), and
    // Python's poplib with STLS + USER/PASS. XCLIENT carries the address.
    let r = curl_mail(&[
        "--cacert",
        &ca,
        "--sasl-ir",
        "--interface",
        "127.0.0.9",
        "-u",
        "alice:alice-secret",
        &format!("pop3s://127.0.0.1:{}/1", s.pop3s),
    ]);
    assert_eq!(r.0, 0, "{r:?}\n{}", s.context());
    assert!(r.1.contains("This message lives on z1."), "{r:?}");
    wait_for_log(&s.node1, |l| {
        l.contains("pop3-login: Info: Login: user=<alice>") && l.contains("rip=127.0.0.9")
    });
    let out = s.py("pop3-stls", s.pop3, &["bob", "bob-secret"]);
    let capa = line_starting(&out, "CAPA:").unwrap_or_default();
    assert!(capa.contains("STLS") && !capa.contains("USER"), "{out}");
    assert!(
        out.contains("SUBJECT: Subject: hello from node2"),
        "{out}\n{}",
        s.context()
    );
    let out = s.py("pop3s-login", s.pop3s, &["alice", "alice-secret"]);
    assert!(
        out.contains("SUBJECT: Subject: hello from z1"),
        "{out}\n{}",
        s.context()
    );

    let m = s.metrics();
    assert!(
        metric(
            &m,
            "kc_proxy_mail_logins_total{protocol=\"imap\",result=\"ok\"}"
        ) >= 6,
        "{m}"
    );
    assert!(
        metric(
            &m,
            "kc_proxy_mail_logins_total{protocol=\"pop3\",result=\"ok\"}"
        ) >= 3,
        "{m}"
    );
    let log = s.edge.proc.log();
    assert!(
        !log.contains("-secret"),
        "a password reached the log:\n{log}"
    );
}

#[test]
fn failures_are_clean() {
    let s = Setup::new("mail-fail");

    // Malformed and out-of-state input before login: BAD, and the session
    // goes on. Plain 143 also refuses passwords before STARTTLS.
    let out = plain_dialogue(
        s.imap,
        b"a0 CAPABILITY\r\na1 FROB\r\n\r\na2 LOGIN {99999}\r\na3 LOGIN alice alice-secret\r\n\
          a4 SELECT INBOX\r\na5 ID (\"x-originating-ip\" \"192.0.2.66\")\r\na6 LOGIN \"unterminated\r\n\
          a7 NOOP\r\na8 LOGOUT\r\n",
    );
    for expect in [
        "* OK [CAPABILITY IMAP4rev1",
        "a0 OK",
        "a1 BAD",
        "* BAD",
        "a2 BAD",
        "a3 NO [PRIVACYREQUIRED]",
        "a4 BAD",
        "* ID (\"name\" \"kc-proxy\")",
        "a5 OK",
        "a6 BAD",
        "a7 OK",
        "* BYE",
        "a8 OK",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(expect)),
            "missing {expect:?} in:\n{out}"
        );
    }
    let caps = line_starting(&out, "* CAPABILITY").unwrap_or_default();
    assert!(
        caps.contains("STARTTLS") && caps.contains("LOGINDISABLED"),
        "{out}"
    );
    // A non-synchronising literal over the limit cannot be skipped: BYE.
    let out = plain_dialogue(s.imap, b"b1 LOGIN {99999+}\r\n");
    assert!(out.contains("* BYE"), "{out}");

    let out = plain_dialogue(
        s.pop3,
        b"CAPA\r\nFROB\r\nUSER alice\r\nSTAT\r\nXCLIENT ADDR=192.0.2.66\r\nQUIT\r\n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.first().is_some_and(|l| l.starts_with("+OK")), "{out}");
    assert!(lines.contains(&"STLS"), "{out}");
    assert!(
        lines.iter().filter(|l| l.starts_with("-ERR")).count() >= 4,
        "{out}"
    );
    assert!(lines.last().is_some_and(|l| l.starts_with("+OK")), "{out}");

    // A node that is down: a clean NO [UNAVAILABLE] / -ERR [SYS/TEMP].
    let out = s.py("imaps-login", s.imaps, &["carol", "carol-secret"]);
    assert!(out.contains("[UNAVAILABLE]"), "{out}\n{}", s.context());
    let out = s.py("pop3s-login", s.pop3s, &["carol", "carol-secret"]);
    assert!(out.contains("[SYS/TEMP]"), "{out}\n{}", s.context());

    // Wrong passwords: NO [AUTHENTICATIONFAILED] each time, in one session;
    // the edge holds later attempts back longer and longer, and a correct
    // password still gets in (and clears the record).
    let out = s.py("imaps-wrong", s.imaps, &["bob", "not-the-password", "3"]);
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("[AUTHENTICATIONFAILED]"))
            .count(),
        3,
        "{out}\n{}",
        s.context()
    );
    let out = s.py("imaps-login", s.imaps, &["bob", "bob-secret"]);
    assert!(
        out.contains("SUBJECT: Subject: hello from node2"),
        "{out}\n{}",
        s.context()
    );
    // The edge logs each held-back attempt with its delay (the log writer
    // may lag a little behind the replies).
    let delays_in = |log: &str| -> Vec<u64> {
        log.lines()
            .filter(|l| l.contains("login delayed"))
            .filter_map(|l| l.split("delay_ms=").nth(1))
            .filter_map(|v| v.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .collect()
    };
    let start = std::time::Instant::now();
    let (log, delays) = loop {
        let log = s.edge.proc.log();
        let delays = delays_in(&log);
        if delays.len() >= 3 || start.elapsed() > Duration::from_secs(30) {
            break (log, delays);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(delays.len() >= 3, "{delays:?}\n{log}");
    assert!(
        delays.windows(2).all(|w| w[0] < w[1]),
        "delays must grow: {delays:?}"
    );
    // An unknown user is just a failed login, indistinguishable to the client.
    let out = s.py("imaps-wrong", s.imaps, &["mallory", "x", "1"]);
    assert!(out.contains("[AUTHENTICATIONFAILED]"), "{out}");

    let m = s.metrics();
    assert!(
        metric(
            &m,
            "kc_proxy_mail_logins_total{protocol=\"imap\",result=\"failed\"}"
        ) >= 4,
        "{m}"
    );
    assert!(
        metric(
            &m,
            "kc_proxy_mail_logins_total{protocol=\"imap\",result=\"unavailable\"}"
        ) >= 1,
        "{m}"
    );
    assert!(metric(&m, "kc_proxy_mail_login_delays_total") >= 3, "{m}");
    assert!(
        !log.contains("not-the-password") && !log.contains("-secret"),
        "a password reached the log:\n{log}"
    );
}
