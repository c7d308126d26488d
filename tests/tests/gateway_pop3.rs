//! kc-gateway POP3 (issue #8) against a real kc-server node, with real
//! clients: `curl` (pop3s://, STLS, LIST/RETR/UIDL/TOP) and `fetchmail`
//! (retrieve and delete over POP3S), plus a raw socket for the protocol
//! details (CAPA, USER/PASS, AUTH PLAIN, XCLIENT from a trusted edge,
//! feature `pop3` disabled, deletions only at QUIT, SIGHUP, SIGTERM).
//! Missing tools fail the test.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use kc_tests::cluster::*;
use kc_tests::gateway_harness::*;

/// A CRLF message with a line starting with a dot (byte-stuffed on the wire).
fn message(id: &str) -> Vec<u8> {
    format!(
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nFrom: Sender <sender@example.net>\r\n\
         To: alice@example.com\r\nSubject: test {id}\r\nMessage-ID: <{id}@example.net>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello {id}.\r\n.a line that starts with a dot\r\n..and two\r\nend\r\n"
    )
    .into_bytes()
}

fn users() -> Vec<UserSpec> {
    let mut bob = UserSpec::new("bob", "z1");
    bob.extra.push("kopanoDisabledFeatures: pop3".into());
    // server.cfg's default `disabled_features = imap pop3`: alice opts in.
    let mut alice = UserSpec::new("alice", "z1");
    alice.extra.push("kopanoEnabledFeatures: pop3".into());
    vec![alice, bob]
}

/// Delivers `n` messages to alice over LMTP; returns them.
fn deliver(c: &Cluster, n: usize) -> Vec<Vec<u8>> {
    let mut lmtp = LmtpClient::connect(c.node("z1").lmtp_addr(), &c.base.join("lmtp"));
    let mut out = vec![];
    for i in 1..=n {
        let m = message(&format!("m{i}"));
        let r = lmtp.deliver("sender@example.net", &["alice@example.com"], &m);
        assert_eq!(r.data.first().map(|d| d.0), Some(250), "{r:?}");
        out.push(m);
    }
    lmtp.finish();
    out
}

struct CurlOut {
    ok: bool,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

fn curl(args: &[&str]) -> CurlOut {
    let bin = kc_tests::require_tool("curl");
    let out = Command::new(bin)
        .arg("-sS")
        .args(args)
        .output()
        .expect("run curl");
    CurlOut {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// curl against the gateway as `user` (password from the cluster) with the test CA.
fn curl_pop3(c: &Cluster, url: &str, port: u16, user: &str, extra: &[&str]) -> CurlOut {
    let ca = c.pki.ca_file.display().to_string();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let creds = format!("{user}:{}", password(user));
    let mut args = vec![
        "--cacert",
        ca.as_str(),
        "--resolve",
        resolve.as_str(),
        "-u",
        creds.as_str(),
        "--max-time",
        "60",
    ];
    args.extend_from_slice(extra);
    args.push(url);
    curl(&args)
}

/// A raw POP3 connection.
struct Pop3 {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Pop3 {
    fn connect(addr: SocketAddr) -> (Pop3, String) {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut p = Pop3 {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        };
        let greeting = p.line();
        (p, greeting)
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        l.trim_end().to_owned()
    }

    fn cmd(&mut self, c: &str) -> String {
        self.w.write_all(format!("{c}\r\n").as_bytes()).unwrap();
        self.line()
    }

    /// A multi-line reply's lines after the status line (dot-unstuffed).
    fn multi(&mut self, c: &str) -> (String, Vec<String>) {
        let first = self.cmd(c);
        let mut lines = vec![];
        if first.starts_with("+OK") {
            loop {
                let l = self.line();
                if l == "." {
                    break;
                }
                lines.push(l.strip_prefix('.').map(str::to_owned).unwrap_or(l));
            }
        }
        (first, lines)
    }

    /// The connection's end: no more bytes.
    fn at_eof(&mut self) -> bool {
        let mut l = String::new();
        matches!(self.r.read_line(&mut l), Ok(0))
    }
}

fn plain_ir(user: &str, pass: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"))
}

fn inbox_uids(c: &Cluster) -> Vec<u32> {
    let mut s = c.store("z1", "alice");
    let inbox = s.folder_id("inbox");
    s.list(inbox).into_iter().map(|(u, _)| u).collect()
}

fn crlf_to_lf(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace("\r\n", "\n")
}

#[test]
fn pop3s_curl_reads_and_fetchmail_retrieves_and_deletes() {
    let c = Cluster::start(&[("z1", &[])], &users());
    let msgs = deliver(&c, 3);
    let gw = start_gateway(&c, "z1", &[]);
    let port = gw.pop3s_port;
    let base = format!("pop3s://localhost:{port}/");

    // LIST: three messages with their exact sizes.
    let r = curl_pop3(&c, &base, port, "alice", &[]);
    assert!(r.ok, "curl LIST: {}\n{}", r.stderr, gw.log());
    let list = String::from_utf8_lossy(&r.stdout).into_owned();
    let rows: Vec<&str> = list.lines().collect();
    assert_eq!(rows.len(), 3, "{list}");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(*row, format!("{} {}", i + 1, msgs[i].len()), "{list}");
    }

    // RETR: byte-exact (curl undoes the dot-stuffing).
    let r = curl_pop3(&c, &format!("{base}2"), port, "alice", &[]);
    assert!(r.ok, "curl RETR: {}", r.stderr);
    assert_eq!(
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&msgs[1])
    );

    // UIDL: stable, distinct ids; TOP 1 0: the header only.
    let r = curl_pop3(&c, &base, port, "alice", &["-X", "UIDL"]);
    assert!(r.ok, "curl UIDL: {}", r.stderr);
    let uidl = String::from_utf8_lossy(&r.stdout).into_owned();
    let ids: Vec<&str> = uidl
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(ids.len(), 3, "{uidl}");
    assert!(ids[0] != ids[1] && ids[1] != ids[2], "{uidl}");
    let again = curl_pop3(&c, &base, port, "alice", &["-X", "UIDL"]);
    assert_eq!(String::from_utf8_lossy(&again.stdout), uidl);
    let r = curl_pop3(&c, &base, port, "alice", &["-X", "TOP 1 0"]);
    assert!(r.ok, "curl TOP: {}", r.stderr);
    let top = crlf_to_lf(&r.stdout);
    assert!(top.contains("Subject: test m1\n"), "{top}");
    assert!(!top.contains("Hello m1"), "{top}");

    // A wrong password and a user without the pop3 feature are refused.
    let r = curl_pop3(&c, &base, port, "alice", &["-u", "alice:wrong", "-v"]);
    assert!(!r.ok);
    assert!(
        r.stderr.contains("Wrong username or password"),
        "{}",
        r.stderr
    );
    let r = curl_pop3(&c, &base, port, "bob", &["-v"]);
    assert!(!r.ok, "bob must not log in");
    assert_eq!(r.code, Some(67), "curl: login denied\n{}", r.stderr);
    assert!(r.stderr.contains("POP3 access is disabled"), "{}", r.stderr);

    // fetchmail over POP3S: retrieves all three, deletes them at QUIT.
    let fdir = c.base.join("fetchmail");
    std::fs::create_dir_all(&fdir).unwrap();
    let rc = write_fetchmailrc(&fdir, &c, port, "alice");
    let (code, out) = run_fetchmail(&fdir, &rc);
    assert_eq!(code, Some(0), "fetchmail:\n{out}\n{}", gw.log());
    let mut got: Vec<String> = std::fs::read_dir(fdir.join("mail"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .map(|b| crlf_to_lf(&b))
        .collect();
    got.sort();
    assert_eq!(got.len(), 3, "fetchmail:\n{out}");
    for (i, m) in msgs.iter().enumerate() {
        let want = crlf_to_lf(m);
        let body = want.split_once("\n\n").unwrap().1;
        let id = format!("Message-ID: <m{}@example.net>", i + 1);
        assert!(
            got.iter().any(|g| g.contains(&id) && g.ends_with(body)),
            "message {} not retrieved intact:\n{got:?}",
            i + 1
        );
    }
    assert!(
        inbox_uids(&c).is_empty(),
        "fetchmail's DELEs were not applied"
    );
    let (code, out) = run_fetchmail(&fdir, &rc);
    assert_eq!(code, Some(1), "a second run finds no mail:\n{out}");
}

#[test]
fn pop3_session_rules_stls_and_no_delete_without_quit() {
    let c = Cluster::start(&[("z1", &[])], &users());
    deliver(&c, 2);
    let gw = start_gateway(&c, "z1", &[]);

    let (mut p, greeting) = Pop3::connect(gw.pop3_addr());
    assert!(greeting.starts_with("+OK"), "{greeting}");
    let (ok, caps) = p.multi("CAPA");
    assert!(ok.starts_with("+OK"), "{ok}");
    for want in ["TOP", "UIDL", "STLS", "USER", "SASL PLAIN", "RESP-CODES"] {
        assert!(caps.iter().any(|c| c == want), "{want} missing: {caps:?}");
    }
    assert!(!caps.iter().any(|c| c == "XCLIENT"), "{caps:?}");
    assert!(p.cmd("XCLIENT ADDR=192.0.2.7").starts_with("-ERR"));
    assert!(p.cmd("STAT").starts_with("-ERR"));
    assert!(p.cmd("PASS x").starts_with("-ERR"), "PASS before USER");
    assert!(p.cmd("USER alice").starts_with("+OK"));
    assert_eq!(p.cmd("PASS nope"), "-ERR [AUTH] Wrong username or password");
    assert!(p.cmd("USER bob").starts_with("+OK"));
    let r = p.cmd(&format!("PASS {}", password("bob")));
    assert!(r.starts_with("-ERR [AUTH] POP3 access is disabled"), "{r}");
    assert!(p.cmd("APOP alice 0123456789abcdef").starts_with("-ERR"));

    // AUTH PLAIN with a continuation line; DELE without QUIT deletes nothing.
    let (mut p, _) = Pop3::connect(gw.pop3_addr());
    assert_eq!(p.cmd("AUTH PLAIN"), "+");
    let r = p.cmd(&plain_ir("alice", &password("alice")));
    assert!(
        r.starts_with("+OK maildrop has 2 messages"),
        "{r}\n{}",
        gw.log()
    );
    assert!(p.cmd("USER alice").starts_with("-ERR"));
    // One session per maildrop (RFC 1939 §8): a second login waits briefly,
    // then gets [IN-USE] (RFC 2449).
    let (mut other, _) = Pop3::connect(gw.pop3_addr());
    let r = other.cmd(&format!(
        "AUTH PLAIN {}",
        plain_ir("alice", &password("alice"))
    ));
    assert!(r.starts_with("-ERR [IN-USE]"), "{r}");
    drop(other);
    assert!(p.cmd("DELE 1").starts_with("+OK"));
    assert!(p.cmd("DELE 1").starts_with("-ERR"), "already deleted");
    assert!(p.cmd("RETR 1").starts_with("-ERR"));
    assert!(p.cmd("STAT").starts_with("+OK 1 "));
    let (_, list) = p.multi("LIST");
    assert_eq!(list.len(), 1);
    assert!(list[0].starts_with("2 "), "{list:?}");
    assert!(p.cmd("RETR 9").starts_with("-ERR"));
    drop(p);
    assert_eq!(inbox_uids(&c).len(), 2, "DELE applied without QUIT");

    // RSET undoes, pipelined commands are answered in order, QUIT applies.
    let (mut p, _) = Pop3::connect(gw.pop3_addr());
    let ir = plain_ir("alice", &password("alice"));
    p.w.write_all(format!("AUTH PLAIN {ir}\r\nDELE 2\r\nRSET\r\nDELE 1\r\nQUIT\r\n").as_bytes())
        .unwrap();
    let replies: Vec<String> = (0..5).map(|_| p.line()).collect();
    assert!(replies.iter().all(|r| r.starts_with("+OK")), "{replies:?}");
    assert!(p.at_eof());
    assert_eq!(inbox_uids(&c).len(), 1);

    // STLS with curl (--ssl-reqd on pop3://) reads the rest.
    let port = gw.pop3_port;
    let r = curl_pop3(
        &c,
        &format!("pop3://localhost:{port}/"),
        port,
        "alice",
        &["--ssl-reqd"],
    );
    assert!(r.ok, "curl STLS: {}\n{}", r.stderr, gw.log());
    assert_eq!(String::from_utf8_lossy(&r.stdout).lines().count(), 1);
}

#[test]
fn pop3_trusted_edge_xclient_hup_and_term() {
    let c = Cluster::start(&[("z1", &["proxy_header = *"])], &users());
    deliver(&c, 1);
    let mut gw = start_gateway(
        &c,
        "z1",
        &[
            "trusted_edge_addresses = 127.0.0.0/8 ::1",
            "server_hostname = gw.test",
            "server_hostname_greeting = no",
        ],
    );

    // The edge's XCLIENT is believed: the node audits the client's address.
    let (mut p, greeting) = Pop3::connect(gw.pop3_addr());
    assert!(!greeting.contains("gw.test"), "{greeting}");
    let (_, caps) = p.multi("CAPA");
    assert!(caps.iter().any(|c| c == "XCLIENT"), "{caps:?}");
    assert!(p
        .cmd("XCLIENT ADDR=192.0.2.7 PORT=40000")
        .starts_with("+OK"));
    assert!(p.cmd("USER alice").starts_with("+OK"));
    let r = p.cmd(&format!("PASS {}", password("alice")));
    assert!(r.starts_with("+OK"), "{r}\n{}", gw.log());
    assert!(p.cmd("QUIT").starts_with("+OK"));
    let audit = std::fs::read_to_string(&c.node("z1").audit).unwrap_or_default();
    assert!(
        audit.contains("user='alice' from='192.0.2.7'"),
        "audit log:\n{audit}"
    );

    // SIGHUP applies reloadable settings to new connections.
    let cfg = std::fs::read_to_string(&gw.cfg).unwrap();
    std::fs::write(
        &gw.cfg,
        cfg.replace(
            "server_hostname_greeting = no",
            "server_hostname_greeting = yes",
        ),
    )
    .unwrap();
    gw.hup();
    let mut seen = false;
    for _ in 0..600 {
        let (_, g) = Pop3::connect(gw.pop3_addr());
        if g.contains("gw.test") {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(seen, "greeting unchanged after SIGHUP:\n{}", gw.log());

    // SIGTERM: an idle logged-in session is told and closed; clean exit.
    let (mut p, _) = Pop3::connect(gw.pop3_addr());
    assert!(p
        .cmd(&format!(
            "AUTH PLAIN {}",
            plain_ir("alice", &password("alice"))
        ))
        .starts_with("+OK"));
    assert!(p.cmd("DELE 1").starts_with("+OK"));
    let st = gw.terminate().expect("kc-gateway did not exit on SIGTERM");
    assert!(st.success(), "exit status {st}\n{}", gw.log());
    assert_eq!(p.line(), "-ERR [SYS/TEMP] server shutting down");
    assert_eq!(
        inbox_uids(&c).len(),
        1,
        "a session ended by shutdown deleted mail"
    );
}

#[test]
fn pop3s_tls_reload_on_hup_and_client_certificates() {
    let c = Cluster::start(&[("z1", &[])], &users());
    deliver(&c, 1);
    let cert = c.base.join("gateway-cert.pem");
    std::fs::copy(&c.pki.server_pem, &cert).unwrap();
    let cert_line = format!("ssl_certificate_file = {}", cert.display());
    let key_line = format!("ssl_private_key_file = {}", cert.display());
    let gw = start_gateway(&c, "z1", &[&cert_line, &key_line]);
    let port = gw.pop3s_port;
    let url = format!("pop3s://localhost:{port}/");
    let r = curl_pop3(&c, &url, port, "alice", &[]);
    assert!(r.ok, "curl: {}\n{}", r.stderr, gw.log());

    // A certificate from another CA replaces the file; SIGHUP loads it.
    let other = kc_tests::pki::Pki::new(&c.base.join("pki2"));
    std::fs::copy(&other.server_pem, &cert).unwrap();
    gw.hup();
    let other_ca = other.ca_file.display().to_string();
    let mut reloaded = false;
    for _ in 0..600 {
        if curl_pop3(&c, &url, port, "alice", &["--cacert", &other_ca]).ok {
            reloaded = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(reloaded, "new certificate not served:\n{}", gw.log());
    let r = curl_pop3(&c, &url, port, "alice", &[]);
    assert!(!r.ok, "the old CA must no longer verify");

    // ssl_verify_client: a client certificate from ssl_verify_file is required.
    let ca_line = format!("ssl_verify_file = {}", c.pki.ca_file.display());
    let gw2 = start_gateway(&c, "z1", &["ssl_verify_client = yes", &ca_line]);
    let port = gw2.pop3s_port;
    let url = format!("pop3s://localhost:{port}/");
    let r = curl_pop3(&c, &url, port, "alice", &[]);
    assert!(!r.ok, "no client certificate must fail");
    let client = c.pki.client("alice-device");
    let pem = c.base.join("client.pem");
    std::fs::write(&pem, &client.combined_pem).unwrap();
    let pem = pem.display().to_string();
    let r = curl_pop3(&c, &url, port, "alice", &["--cert", &pem]);
    assert!(r.ok, "curl with client cert: {}\n{}", r.stderr, gw2.log());
    assert_eq!(String::from_utf8_lossy(&r.stdout).lines().count(), 1);
}

#[test]
fn pop3_login_follows_the_store_to_its_home_node() {
    let mut carol = UserSpec::new("carol", "z2");
    carol.extra.push("kopanoEnabledFeatures: pop3".into());
    let c = Cluster::start(&[("z1", &[]), ("z2", &[])], &[carol]);
    let mut lmtp = LmtpClient::connect(c.node("z2").lmtp_addr(), &c.base.join("lmtp"));
    let m = message("far");
    let r = lmtp.deliver("sender@example.net", &["carol@example.com"], &m);
    assert_eq!(r.data.first().map(|d| d.0), Some(250), "{r:?}");
    lmtp.finish();
    // The gateway beside z1 logs on at z1, is redirected, logs on at z2.
    let gw = start_gateway(&c, "z1", &[]);
    let port = gw.pop3s_port;
    let r = curl_pop3(
        &c,
        &format!("pop3s://localhost:{port}/1"),
        port,
        "carol",
        &[],
    );
    assert!(r.ok, "curl: {}\n{}", r.stderr, gw.log());
    assert_eq!(
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&m)
    );
    assert!(
        gw.log().contains("store is on another node"),
        "no redirect was followed:\n{}",
        gw.log()
    );
}

/// An https:// server_socket verified with `server_ssl_ca_file` (the node's
/// CA); a wrong CA makes the login a temporary failure, never a success.
#[test]
fn pop3_over_https_server_socket_with_node_ca() {
    let c = Cluster::start(&[("z1", &[])], &users());
    deliver(&c, 1);
    let node = c.node("z1");
    let socket = format!("server_socket = https://127.0.0.1:{}/kopano", node.tls_port);
    let ca = format!("server_ssl_ca_file = {}", c.pki.ca_file.display());
    let gw = start_gateway(&c, "z1", &[&socket, &ca]);
    let (mut p, _) = Pop3::connect(gw.pop3_addr());
    assert!(p.cmd("USER alice").starts_with("+OK"));
    let r = p.cmd(&format!("PASS {}", password("alice")));
    assert!(
        r.starts_with("+OK maildrop has 1 messages"),
        "{r}\n{}",
        gw.log()
    );

    // Another CA does not vouch for the node: no login, a clear -ERR.
    let stranger = kc_tests::pki::Pki::new(&c.base.join("other-pki"));
    let wrong_ca = format!("server_ssl_ca_file = {}", stranger.ca_file.display());
    let other = start_gateway(&c, "z1", &[&socket, &wrong_ca]);

    let (mut p, _) = Pop3::connect(other.pop3_addr());
    assert!(p.cmd("USER alice").starts_with("+OK"));
    let r = p.cmd(&format!("PASS {}", password("alice")));
    assert!(r.starts_with("-ERR [SYS/TEMP]"), "{r}");
}
