//! A small kc cluster for end-to-end tests: a directory with server
//! entries and users (an LDIF file, or a private slapd loaded with it),
//! kc-server nodes on free loopback ports (SOAP, TLS, LMTP), and helpers to
//! deliver with a real LMTP client (Python's `smtplib.LMTP`) and to read
//! back through the store API.
//!
//! [`Cluster::builder`] assembles it; [`ClusterBuilder::mail`] adds a
//! kc-gateway per node and a kc-proxy edge in front
//! ([`MailStack`](crate::mail_stack::MailStack)).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::mail_stack::MailStack;
use crate::server_harness::*;
use crate::slapd::{Slapd, BIND_DN, BIND_PW};

/// A user of the test directory: login, home node, hard quota in MB (0 = none).
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub login: String,
    pub node: String,
    /// Per-user hard quota in MB (`kopanoQuotaOverride`); `None` = server default.
    pub quota_hard_mb: Option<u32>,
    /// Extra LDIF lines for the entry, e.g. `kopanoEnabledFeatures: imap`.
    pub extra: Vec<String>,
}

impl UserSpec {
    pub fn new(login: &str, node: &str) -> UserSpec {
        UserSpec {
            login: login.into(),
            node: node.into(),
            quota_hard_mb: None,
            extra: vec![],
        }
    }
}

/// The password every test user has.
pub fn password(login: &str) -> String {
    format!("{login}-secret")
}

fn user_ldif(uid: u32, u: &UserSpec) -> String {
    let login = &u.login;
    let mut s = format!(
        "dn: uid={login},ou=People,dc=example,dc=com\n\
         objectClass: inetOrgPerson\nobjectClass: posixAccount\nobjectClass: kopano-user\n\
         uid: {login}\ncn: User {login}\nsn: {login}\nmail: {login}@example.com\n\
         kopanoAliases: {login}.alias@example.com\n\
         uidNumber: {uid}\ngidNumber: 5000\nhomeDirectory: /home/{login}\n\
         userPassword: {pw}\nkopanoAccount: 1\nkopanoUserServer: {node}\n",
        pw = password(login),
        node = u.node,
    );
    if let Some(mb) = u.quota_hard_mb {
        s.push_str(&format!(
            "kopanoQuotaOverride: 1\nkopanoQuotaHard: {mb}\nkopanoQuotaSoft: 0\nkopanoQuotaWarn: 0\n"
        ));
    }
    for l in &u.extra {
        s.push_str(l);
        s.push('\n');
    }
    s.push('\n');
    s
}

fn server_ldif(name: &str, address: &str, http: u16, tls: u16) -> String {
    format!(
        "dn: cn={name},ou=Servers,dc=example,dc=com\n\
         objectClass: device\nobjectClass: ipHost\nobjectClass: kopano-server\n\
         cn: {name}\nipHostNumber: {address}\nkopanoHttpPort: {http}\nkopanoSslPort: {tls}\n\
         kopanoContainsPublic: 0\n\n"
    )
}

/// The loopback address of the `index`th node (127.0.0.1, 127.0.0.2, ...):
/// nodes differ by address so that per-node services on fixed ports
/// (`node_imap_port` at the edge) can coexist on one machine.
pub fn node_address(index: usize) -> String {
    format!("127.0.0.{}", index + 1)
}

/// Running nodes over one directory; everything is removed on drop.
pub struct Cluster {
    pub base: PathBuf,
    pub pki: Pki,
    pub sslkeys: PathBuf,
    /// The directory's LDIF (loaded into slapd when there is one).
    pub ldif: PathBuf,
    /// The nodes' `user_plugin_config`.
    pub ldap_cfg: PathBuf,
    pub nodes: Vec<ServerProc>,
    /// The private slapd serving the directory, with [`ClusterBuilder::slapd`].
    pub slapd: Option<Slapd>,
    _tmp: tempfile::TempDir,
}

/// Assembles a [`Cluster`]: nodes, users, and where the directory comes
/// from. `Cluster::builder().node("z1", &[]).user(u).start()`.
#[derive(Debug, Clone, Default)]
pub struct ClusterBuilder {
    nodes: Vec<(String, Vec<String>)>,
    users: Vec<UserSpec>,
    slapd: bool,
}

impl ClusterBuilder {
    /// A kc-server node named `name`; `extra` lines are added to its
    /// server.cfg (later assignments win).
    pub fn node(mut self, name: &str, extra: &[&str]) -> Self {
        self.nodes.push((
            name.to_owned(),
            extra.iter().map(|l| l.to_string()).collect(),
        ));
        self
    }

    /// A user of the directory.
    pub fn user(mut self, user: UserSpec) -> Self {
        self.users.push(user);
        self
    }

    /// Several users.
    pub fn users(mut self, users: &[UserSpec]) -> Self {
        self.users.extend_from_slice(users);
        self
    }

    /// Serve the directory from a private slapd loaded with the LDIF
    /// (`ldap_uri`, binding as the root DN) instead of the LDIF file.
    pub fn slapd(mut self) -> Self {
        self.slapd = true;
        self
    }

    /// Starts the nodes (multi-server, `enable_distributed_kopano`, with
    /// the LDAP plugin) and waits until each serves.
    pub fn start(self) -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().to_owned();
        let pki = Pki::new(&base.join("pki"));
        let sslkeys = base.join("sslkeys");
        std::fs::create_dir_all(&sslkeys).unwrap();
        let mut specs: Vec<NodeSpec> = self.nodes.iter().map(|(n, _)| NodeSpec::new(n)).collect();
        let mut ldif = String::from(
            "dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
             dn: ou=Servers,dc=example,dc=com\nobjectClass: organizationalUnit\nou: Servers\n\n\
             dn: ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\nou: People\n\n",
        );
        for (i, s) in specs.iter().enumerate() {
            ldif.push_str(&server_ldif(
                &s.name,
                &node_address(i),
                s.http_port,
                s.tls_port,
            ));
        }
        for (i, u) in self.users.iter().enumerate() {
            ldif.push_str(&user_ldif(3000 + i as u32, u));
        }
        let ldif_path = base.join("directory.ldif");
        std::fs::write(&ldif_path, ldif).unwrap();
        let slapd = self.slapd.then(|| Slapd::start(false, &ldif_path));
        let source = match &slapd {
            Some(s) => format!(
                "ldap_uri = {}\nldap_bind_user = {BIND_DN}\nldap_bind_passwd = {BIND_PW}\n",
                s.uri()
            ),
            None => "ldap_uri =\nldap_ldif_file = directory.ldif\n".to_owned(),
        };
        let ldap_cfg = base.join("ldap.cfg");
        std::fs::write(
            &ldap_cfg,
            format!(
                "{source}ldap_search_base = dc=example,dc=com\n\
                 ldap_user_search_filter = (kopanoAccount=1)\nldap_server_type_attribute_value = kopano-server\n\
                 ldap_server_address_attribute = ipHostNumber\n"
            ),
        )
        .unwrap();
        for (i, (s, (_, extra))) in specs.iter_mut().zip(&self.nodes).enumerate() {
            if i > 0 {
                // Also on the node's own address (redirect targets); the
                // harness talks to 127.0.0.1. Later assignments win.
                let a = node_address(i);
                s.extra.extend([
                    format!("server_listen = 127.0.0.1:{0} {a}:{0}", s.http_port),
                    format!("server_listen_tls = 127.0.0.1:{0} {a}:{0}", s.tls_port),
                ]);
            }
            s.extra.extend([
                "user_plugin = ldap".to_string(),
                format!("user_plugin_config = {}", ldap_cfg.display()),
                "enable_distributed_kopano = yes".to_string(),
            ]);
            s.extra.extend(extra.iter().cloned());
        }
        let nodes = specs
            .iter()
            .map(|s| start_server(&base, s, &pki, &sslkeys))
            .collect();
        Cluster {
            base,
            pki,
            sslkeys,
            ldif: ldif_path,
            ldap_cfg,
            nodes,
            slapd,
            _tmp: tmp,
        }
    }

    /// [`Self::start`], then a kc-gateway beside every node and a kc-proxy
    /// edge in front; `gateway_extra` and `edge_extra` are added to every
    /// gateway.cfg and to proxy.cfg.
    pub fn mail(self, gateway_extra: &[&str], edge_extra: &[&str]) -> MailStack {
        MailStack::start(self.start(), gateway_extra, edge_extra)
    }
}

impl Cluster {
    /// A builder with no nodes and no users yet.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// Start one kc-server per entry of `nodes` (name, extra server.cfg
    /// lines), multi-server (`enable_distributed_kopano`) with the LDAP
    /// plugin on the LDIF source: `Cluster::builder()` in one call.
    pub fn start(nodes: &[(&str, &[&str])], users: &[UserSpec]) -> Cluster {
        nodes
            .iter()
            .fold(Cluster::builder(), |b, (name, extra)| b.node(name, extra))
            .users(users)
            .start()
    }

    pub fn node(&self, name: &str) -> &ServerProc {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    /// The address the directory gives for node `name`.
    pub fn address(&self, name: &str) -> String {
        let i = self
            .nodes
            .iter()
            .position(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"));
        node_address(i)
    }

    pub fn node_mut(&mut self, name: &str) -> &mut ServerProc {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    /// A store API client for `login`, logged on at `node` over plain HTTP.
    pub fn store(&self, node: &str, login: &str) -> StoreConn {
        let mut conn = self.node(node).connect(Transport::Http, &self.pki, None);
        let (er, sid) = conn.logon(&[], login, &password(login));
        assert_eq!(er, 0, "logon of {login} at {node} failed");
        StoreConn {
            conn,
            session: sid.to_string(),
        }
    }
}

/// An HTTP connection to a node with a logged-on session.
pub struct StoreConn {
    pub conn: Conn,
    pub session: String,
}

impl StoreConn {
    /// One request to `/kc-store/v1/{path}`.
    pub fn request(&mut self, method: &str, path: &str, body: &[u8]) -> HttpResponse {
        let mut req = format!(
            "{method} /kc-store/v1/{path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nX-Kc-Session: {}\r\n\r\n",
            body.len(),
            self.session
        );
        if body.is_empty() && method == "GET" {
            req = format!(
                "GET /kc-store/v1/{path} HTTP/1.1\r\nHost: localhost\r\nX-Kc-Session: {}\r\n\r\n",
                self.session
            );
        }
        self.conn.write_all(req.as_bytes()).unwrap();
        self.conn.write_all(body).unwrap();
        self.conn.flush().unwrap();
        self.conn.read_response()
    }

    pub fn get(&mut self, path: &str) -> HttpResponse {
        let r = self.request("GET", path, b"");
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r
    }

    /// The id of the folder with `role` (e.g. `inbox`) in the user's store.
    pub fn folder_id(&mut self, role: &str) -> i64 {
        let r = self.get("me/folders");
        let pat = format!("\"role\":\"{role}\"");
        let obj = r
            .body
            .split("},{")
            .find(|o| o.contains(&pat))
            .unwrap_or_else(|| panic!("no {role} folder in {}", r.body));
        json_num(obj, "id")
    }

    /// UIDs and Message-IDs of the live items of a folder.
    pub fn list(&mut self, folder: i64) -> Vec<(u32, String)> {
        let r = self.get(&format!(
            "me/folders/{folder}/items?fields=uid,message_id&limit=100000"
        ));
        r.body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| (json_num(l, "uid") as u32, json_str(l, "message_id")))
            .collect()
    }

    /// The raw message with `uid` in `folder`.
    pub fn fetch(&mut self, folder: i64, uid: u32) -> String {
        self.get(&format!("me/folders/{folder}/items/{uid}")).body
    }
}

/// The integer after `"key":` in a JSON text (first occurrence).
pub fn json_num(json: &str, key: &str) -> i64 {
    let pat = format!("\"{key}\":");
    let start = json
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + pat.len();
    let digits: String = json[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().unwrap()
}

/// The string after `"key":` in a JSON text (no escapes expected).
pub fn json_str(json: &str, key: &str) -> String {
    let pat = format!("\"{key}\":\"");
    let start = json
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + pat.len();
    json[start..].chars().take_while(|c| *c != '"').collect()
}

/// The LMTP client: Python's `smtplib.LMTP`, driven at the command level so
/// that the per-recipient replies after DATA (RFC 2033 §4.2), which
/// `sendmail()` does not read, are collected too.
///
/// Input: JSON lines on stdin, one transaction each:
/// `{"from": .., "rcpts": [..], "file": path}`. Output per transaction, as
/// soon as it is known: `RCPT <code> <text>` per recipient, `DATA <code>
/// <text>` per accepted recipient, then `END`.
const LMTP_CLIENT: &str = r#"
import json, re, smtplib, sys
host, port = sys.argv[1], int(sys.argv[2])
c = smtplib.LMTP(host, port)
code, _ = c.ehlo("kc-tests")
assert code == 250, code
def out(kind, code, msg):
    print(kind, code, msg.decode(errors="replace").replace("\n", " "))
for line in sys.stdin:
    t = json.loads(line)
    body = open(t["file"], "rb").read()
    code, msg = c.mail(t["from"])
    assert code == 250, (code, msg)
    ok = 0
    for r in t["rcpts"]:
        code, msg = c.rcpt(r)
        out("RCPT", code, msg)
        if code == 250:
            ok += 1
    if ok:
        c.putcmd("data")
        code, msg = c.getreply()
        assert code == 354, (code, msg)
        q = re.sub(rb"(?m)^\.", b"..", body)
        if not q.endswith(b"\r\n"):
            q += b"\r\n"
        c.send(q + b".\r\n")
        for _ in range(ok):
            code, msg = c.getreply()
            out("DATA", code, msg)
    else:
        c.rset()
    print("END", flush=True)
c.quit()
"#;

/// The replies of one LMTP transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LmtpResult {
    /// (code, text) per RCPT TO, in order.
    pub rcpt: Vec<(u16, String)>,
    /// (code, text) per accepted recipient after DATA.
    pub data: Vec<(u16, String)>,
}

/// A running LMTP client process.
pub struct LmtpClient {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
    dir: PathBuf,
    n: usize,
}

impl LmtpClient {
    pub fn connect(addr: std::net::SocketAddr, work_dir: &Path) -> LmtpClient {
        let python = crate::require_tool("python3");
        let mut child = Command::new(python)
            .arg("-c")
            .arg(LMTP_CLIENT)
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn python3");
        let out = BufReader::new(child.stdout.take().unwrap());
        std::fs::create_dir_all(work_dir).unwrap();
        LmtpClient {
            child,
            out,
            dir: work_dir.to_owned(),
            n: 0,
        }
    }

    /// Send one transaction without waiting for its answer.
    pub fn send(&mut self, from: &str, rcpts: &[&str], message: &[u8]) {
        self.n += 1;
        let file = self.dir.join(format!("msg-{}.eml", self.n));
        std::fs::write(&file, message).unwrap();
        let rcpts: Vec<String> = rcpts.iter().map(|r| format!("\"{r}\"")).collect();
        let line = format!(
            "{{\"from\": \"{from}\", \"rcpts\": [{}], \"file\": \"{}\"}}\n",
            rcpts.join(","),
            file.display()
        );
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// The answer of the next transaction; `None` when the client died
    /// (e.g. the server went away).
    pub fn recv(&mut self) -> Option<LmtpResult> {
        let mut res = LmtpResult {
            rcpt: vec![],
            data: vec![],
        };
        loop {
            let mut line = String::new();
            if self.out.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end();
            if line == "END" {
                return Some(res);
            }
            let mut parts = line.splitn(3, ' ');
            let kind = parts.next().unwrap_or("");
            let code: u16 = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
            let text = parts.next().unwrap_or("").to_string();
            match kind {
                "RCPT" => res.rcpt.push((code, text)),
                "DATA" => res.data.push((code, text)),
                other => panic!("LMTP client: unexpected output {other:?}: {line}"),
            }
        }
    }

    /// Send one transaction and wait for its answer.
    pub fn deliver(&mut self, from: &str, rcpts: &[&str], message: &[u8]) -> LmtpResult {
        self.send(from, rcpts, message);
        self.recv().expect("LMTP client died")
    }

    /// Close stdin (the client sends QUIT) and wait for it.
    pub fn finish(mut self) {
        drop(self.child.stdin.take());
        let st = self.child.wait().unwrap();
        assert!(st.success(), "LMTP client failed: {st}");
    }
}

impl Drop for LmtpClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
