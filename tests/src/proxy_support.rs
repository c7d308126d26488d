//! Helpers for the kc-proxy end-to-end tests: proxy.cfg files with the
//! test [`Pki`]'s edge certificate, starting `kc-proxy`, `curl`, a
//! minimal echo node, and directories for the edge's node table.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub use crate::pki::Pki;
use crate::process::{bin, free_port, require_tool, wait_for_port, Proc};

/// A running kc-proxy and its ports.
pub struct EdgeProc {
    /// The process (killed on drop).
    pub proc: Proc,
    /// HTTPS port.
    pub https: u16,
    /// Plain HTTP port.
    pub http: u16,
    /// Admin port.
    pub admin: u16,
    /// HTTP/3 (UDP) port.
    pub h3: u16,
    /// The config file.
    pub config: PathBuf,
}

impl EdgeProc {
    /// `https://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.https)
    }
}

/// Writes proxy.cfg (listeners on free loopback ports, the edge certificate,
/// stderr logging) plus `extra` lines, starts kc-proxy and waits for its
/// HTTPS and admin ports.
pub fn start_edge(dir: &Path, pki: &Pki, extra: &str) -> EdgeProc {
    start_edge_on(dir, pki, extra, free_port())
}

/// [`start_edge`] with a chosen HTTPS port (for directories that must name
/// the edge's URL before it runs).
pub fn start_edge_on(dir: &Path, pki: &Pki, extra: &str, https: u16) -> EdgeProc {
    let (http, admin, h3) = (free_port(), free_port(), free_port());
    let config = dir.join("proxy.cfg");
    let text = format!(
        "https_listen = 127.0.0.1:{https}\nhttp_listen = 127.0.0.1:{http}\nadmin_listen = 127.0.0.1:{admin}\n\
         ssl_certificate_file = {cert}\nssl_private_key_file = {key}\n\
         log_method = stderr\nlog_level = 4\naccess_log_file = {dir}/access.log\nthreads = 2\n\
         pid_file = {dir}/proxy.pid\nrun_as_user =\nrun_as_group =\n{extra}\n",
        cert = pki.file("edge.pem").display(),
        key = pki.file("edge.key").display(),
        dir = dir.display(),
        extra = extra
            .replace("H3_PORT", &h3.to_string())
            .replace("HTTPS_PORT", &https.to_string()),
    );
    std::fs::write(&config, text).expect("write proxy.cfg");
    let mut cmd = Command::new(bin("kc-proxy"));
    cmd.arg("-F").arg("-c").arg(&config);
    let proc = Proc::spawn("kc-proxy", cmd, dir);
    for port in [https, admin] {
        wait_for_port(
            SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(20),
        );
    }
    EdgeProc {
        proc,
        https,
        http,
        admin,
        h3,
        config,
    }
}

/// The result of one curl call.
#[derive(Debug)]
pub struct CurlReply {
    /// Exit code of curl (0 = a response was received).
    pub code: i32,
    /// Status of the last response.
    pub status: u16,
    /// Response headers (lowercase names), last response.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: String,
    /// curl's stderr.
    pub stderr: String,
}

impl CurlReply {
    /// First value of a response header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Runs `curl -s -D - <args>` and parses the reply.
pub fn curl(args: &[&str]) -> CurlReply {
    let out = Command::new(require_tool("curl"))
        .arg("-s")
        .arg("-S")
        .arg("-D")
        .arg("-")
        .args(args)
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut status = 0;
    let mut headers = Vec::new();
    let mut body = String::new();
    let mut rest = text.as_str();
    // Several header blocks may precede the body (100-continue); take the last.
    while rest.starts_with("HTTP/") {
        let (head, tail) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
        headers.clear();
        let mut lines = head.lines();
        status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        for l in lines {
            if let Some((n, v)) = l.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        rest = tail;
        body = tail.to_string();
    }
    CurlReply {
        code: out.status.code().unwrap_or(-1),
        status,
        headers,
        body,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A minimal HTTP/1.1 node for tests that only need "something answers":
/// every request gets `200` with the request head (request line and
/// headers) as its body, then the connection is closed.
pub struct EchoNode {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl EchoNode {
    /// Starts the node on 127.0.0.1 and a free port, on a background
    /// thread (lives as long as the test).
    pub fn start() -> EchoNode {
        EchoNode::start_on("127.0.0.1", 0)
    }

    /// Starts the node on `ip:port` (port 0 = any). The reply body starts
    /// with `node: IP` so that tests can tell nodes on one port apart.
    pub fn start_on(ip: &str, port: u16) -> EchoNode {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind((ip, port)).expect("bind echo node");
        let port = listener.local_addr().expect("addr").port();
        let ip = ip.to_string();
        std::thread::spawn(move || {
            for mut sock in listener.incoming().flatten() {
                let ip = ip.clone();
                std::thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                        match sock.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let mut body = format!("node: {ip}\n").into_bytes();
                    body.extend_from_slice(&head);
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(reply.as_bytes());
                    let _ = sock.write_all(&body);
                });
            }
        });
        EchoNode { port }
    }
}

/// A scratch folder under the system temp dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// Creates `kc-proxy-<tag>-<pid>` afresh.
    pub fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("kc-proxy-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create scratch folder");
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A node object for [`write_directory`].
#[derive(Debug, Clone)]
pub struct DirNode {
    /// `cn` (the node name).
    pub name: String,
    /// `ipHostNumber`.
    pub address: String,
    /// `kopanoHttpPort`.
    pub http_port: u16,
    /// `kopanoSslPort`, if any.
    pub ssl_port: Option<u16>,
    /// `kopanoProxyURL`, if any.
    pub proxy_url: Option<String>,
    /// `kopanoContainsPublic`.
    pub public: bool,
}

/// Writes `directory.ldif` and `ldap.cfg` (LDIF source, KC OpenLDAP
/// attribute names) into `dir` and returns the ldap.cfg path. Every user's
/// password is `<login>-secret` (plain).
pub fn write_directory(dir: &Path, nodes: &[DirNode], users: &[(&str, &str)]) -> PathBuf {
    let mut ldif = String::from(
        "dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: ou=Servers,dc=example,dc=com\nobjectClass: organizationalUnit\nou: Servers\n\n\
         dn: ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\nou: People\n\n",
    );
    for n in nodes {
        ldif.push_str(&format!(
            "dn: cn={name},ou=Servers,dc=example,dc=com\nobjectClass: device\nobjectClass: ipHost\nobjectClass: kopano-server\n\
             cn: {name}\nipHostNumber: {addr}\nkopanoHttpPort: {port}\nkopanoContainsPublic: {public}\n",
            name = n.name,
            addr = n.address,
            port = n.http_port,
            public = u8::from(n.public),
        ));
        if let Some(p) = n.ssl_port {
            ldif.push_str(&format!("kopanoSslPort: {p}\n"));
        }
        if let Some(u) = &n.proxy_url {
            ldif.push_str(&format!("kopanoProxyURL: {u}\n"));
        }
        ldif.push('\n');
    }
    for (i, (login, home)) in users.iter().enumerate() {
        ldif.push_str(&format!(
            "dn: uid={login},ou=People,dc=example,dc=com\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n\
             objectClass: kopano-user\nuid: {login}\ncn: {login}\nsn: {login}\nmail: {login}@example.com\n\
             uidNumber: {uid}\ngidNumber: 5000\nhomeDirectory: /home/{login}\nuserPassword: {login}-secret\n\
             kopanoAccount: 1\nkopanoUserServer: {home}\n\n",
            uid = 2000 + i
        ));
    }
    std::fs::write(dir.join("directory.ldif"), ldif).expect("write directory.ldif");
    let cfg = dir.join("ldap.cfg");
    std::fs::write(
        &cfg,
        "ldap_uri =\nldap_ldif_file = directory.ldif\nldap_search_base = dc=example,dc=com\n\
         ldap_user_search_filter = (kopanoAccount=1)\nldap_server_type_attribute_value = kopano-server\n\
         ldap_server_address_attribute = ipHostNumber\nldap_authentication_method = password\n",
    )
    .expect("write ldap.cfg");
    cfg
}
