//! kc-server for end-to-end tests: writes a server.cfg (free loopback
//! ports, the test [`Pki`]), runs the real binary, and speaks raw HTTP/1.1
//! (plain, TLS, unix socket) carrying SOAP envelopes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

pub use crate::pki::{ClientCert, Pki};
use crate::process::{bin, free_port, Proc};

/// How to reach a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Http,
    Https,
    Unix,
}

/// A running kc-server process; killed on drop.
pub struct ServerProc {
    pub name: String,
    pub dir: PathBuf,
    pub http_port: u16,
    pub tls_port: u16,
    /// `lmtp_listen` (127.0.0.1).
    pub lmtp_port: u16,
    pub socket: PathBuf,
    pub log: PathBuf,
    pub audit: PathBuf,
    pub cfg_path: PathBuf,
    /// `pid_file`.
    pub pid_file: PathBuf,
    proc: Proc,
}

/// Settings of one node to start.
pub struct NodeSpec {
    pub name: String,
    pub http_port: u16,
    pub tls_port: u16,
    pub lmtp_port: u16,
    /// Extra `key = value` lines appended to server.cfg.
    pub extra: Vec<String>,
}

impl NodeSpec {
    pub fn new(name: &str) -> NodeSpec {
        NodeSpec {
            name: name.to_owned(),
            http_port: free_port(),
            tls_port: free_port(),
            lmtp_port: free_port(),
            extra: vec![],
        }
    }
}

/// Write server.cfg for `spec` under `base/<name>` and start kc-server with it.
pub fn start_server(base: &Path, spec: &NodeSpec, pki: &Pki, sslkeys: &Path) -> ServerProc {
    let dir = base.join(&spec.name);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("server.sock");
    let log = dir.join("server.log");
    let audit = dir.join("audit.log");
    let mut cfg = format!(
        "server_listen = 127.0.0.1:{http}\n\
         server_listen_tls = 127.0.0.1:{tls}\n\
         lmtp_listen = 127.0.0.1:{lmtp}\n\
         tmp_path = {dir}\n\
         server_pipe_name = {sock}\n\
         server_pipe_priority =\n\
         server_name = {name}\n\
         server_ssl_key_file = {key}\n\
         server_ssl_ca_file = {ca}\n\
         sslkeys_path = {sslkeys}\n\
         sqlite_path = {dir}/kc.db\n\
         attachment_path = {dir}/attachments\n\
         run_as_user =\n\
         run_as_group =\n\
         pid_file = {dir}/server.pid\n\
         log_method = file\n\
         log_file = {log}\n\
         log_level = 6\n\
         audit_log_enabled = yes\n\
         audit_log_method = file\n\
         audit_log_file = {audit}\n",
        http = spec.http_port,
        tls = spec.tls_port,
        lmtp = spec.lmtp_port,
        sock = socket.display(),
        name = spec.name,
        key = pki.server_pem.display(),
        ca = pki.ca_file.display(),
        sslkeys = sslkeys.display(),
        dir = dir.display(),
        log = log.display(),
        audit = audit.display(),
    );
    for l in &spec.extra {
        cfg.push_str(l);
        cfg.push('\n');
    }
    let cfg_path = dir.join("server.cfg");
    std::fs::write(&cfg_path, cfg).unwrap();
    let proc = spawn_server(&cfg_path, &dir);
    let mut p = ServerProc {
        name: spec.name.clone(),
        pid_file: dir.join("server.pid"),
        dir: dir.clone(),
        http_port: spec.http_port,
        tls_port: spec.tls_port,
        lmtp_port: spec.lmtp_port,
        socket,
        log,
        audit,
        cfg_path,
        proc,
    };
    p.wait_ready();
    p
}

/// Starts kc-server in the foreground with `cfg_path`; its stderr goes to
/// `dir/stderr.log`.
fn spawn_server(cfg_path: &Path, dir: &Path) -> Proc {
    let mut cmd = Command::new(bin("kc-server"));
    cmd.arg("-F").arg("-c").arg(cfg_path);
    Proc::spawn("stderr", cmd, dir)
}

impl ServerProc {
    /// SIGKILL the server (no shutdown path runs) and wait for it.
    pub fn kill9(&mut self) {
        self.proc.kill();
    }

    /// Start the server again with the same server.cfg and wait until it serves.
    pub fn restart(&mut self) {
        self.kill9();
        self.proc = spawn_server(&self.cfg_path, &self.dir);
        self.wait_ready();
    }

    /// SIGTERM and wait for the exit (graceful shutdown).
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        self.proc
            .signal_and_wait(libc::SIGTERM, Duration::from_secs(60))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// The server's log file (log_level 6) and its stderr, for failure messages.
    pub fn log(&self) -> String {
        format!(
            "{}\n--- stderr/stdout:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default(),
            self.proc.log()
        )
    }

    /// Where `lmtp_listen` accepts connections.
    pub fn lmtp_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.lmtp_port))
    }

    /// Wait until both TCP ports accept and the socket exists (the process
    /// binds everything before serving); fail if the process exits.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = self.proc.exited() {
                panic!(
                    "kc-server {} exited early ({st}): {}",
                    self.name,
                    self.proc.log()
                );
            }
            let up = TcpStream::connect(("127.0.0.1", self.http_port)).is_ok()
                && TcpStream::connect(("127.0.0.1", self.tls_port)).is_ok()
                && TcpStream::connect(("127.0.0.1", self.lmtp_port)).is_ok()
                && UnixStream::connect(&self.socket).is_ok();
            if up {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "kc-server {} did not start",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Send SIGHUP (reload) to the server.
    pub fn hup(&self) {
        self.proc.signal(libc::SIGHUP);
    }

    pub fn is_running(&mut self) -> bool {
        self.proc.exited().is_none()
    }

    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.http_port)
    }

    pub fn https_url(&self) -> String {
        format!("https://127.0.0.1:{}/", self.tls_port)
    }

    pub fn connect(&self, t: Transport, pki: &Pki, cert: Option<&ClientCert>) -> Conn {
        match t {
            Transport::Http => {
                Conn::Plain(TcpStream::connect(("127.0.0.1", self.http_port)).unwrap())
            }
            Transport::Unix => Conn::Unix(UnixStream::connect(&self.socket).unwrap()),
            Transport::Https => {
                let sock = TcpStream::connect(("127.0.0.1", self.tls_port)).unwrap();
                let conn = rustls::ClientConnection::new(
                    pki.client_config(cert),
                    ServerName::try_from("localhost").unwrap(),
                )
                .unwrap();
                Conn::Tls(Box::new(rustls::StreamOwned::new(conn, sock)))
            }
        }
    }
}

/// One keep-alive HTTP connection.
pub enum Conn {
    Plain(TcpStream),
    Unix(UnixStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Unix(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// Text of the first element with this local name (e.g. `er`, `lpszServerPath`).
    pub fn field(&self, name: &str) -> Option<String> {
        let open = format!("<{name}>");
        let start = self.body.find(&open)? + open.len();
        let end = self.body[start..].find(&format!("</{name}>"))? + start;
        Some(self.body[start..end].to_owned())
    }

    pub fn er(&self) -> u32 {
        self.field("er")
            .unwrap_or_else(|| panic!("no <er> in {}", self.body))
            .parse()
            .unwrap()
    }

    pub fn is_fault(&self) -> bool {
        self.body.contains("Fault>") && self.body.contains("<faultcode>")
    }
}

impl Conn {
    /// POST `body` with extra headers; read one response (Content-Length or chunked).
    pub fn post_raw(&mut self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        self.write_all(req.as_bytes()).unwrap();
        self.write_all(body).unwrap();
        self.flush().unwrap();
        self.read_response()
    }

    pub fn post(&mut self, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        self.post_raw("/", headers, body.as_bytes())
    }

    pub fn read_response(&mut self) -> HttpResponse {
        let mut r = BufReader::new(self);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("bad status line {line:?}"))
            .parse()
            .unwrap();
        let mut headers = vec![];
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let get = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let mut body = Vec::new();
        if let Some(len) = get("content-length") {
            let len: usize = len.parse().unwrap();
            body.resize(len, 0);
            r.read_exact(&mut body).unwrap();
        } else if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            loop {
                let mut sz = String::new();
                r.read_line(&mut sz).unwrap();
                let n = usize::from_str_radix(sz.trim().split(';').next().unwrap(), 16).unwrap();
                let mut chunk = vec![0; n + 2];
                r.read_exact(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        HttpResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

/// A SOAP 1.1 envelope around `body` (the `ns:` prefix is `urn:zarafa`).
/// The files under a node's attachment directory, sorted, without the
/// temporaries an append writes before it renames them into place.
pub fn attachment_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !e.file_name().to_string_lossy().starts_with(".tmp") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:ns="urn:zarafa"><SOAP-ENV:Body SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"#
    )
}

/// KC_CAP_UNICODE | MULTI_SERVER (what a current client always sends).
pub const CLIENT_CAPS: u32 = 0x0200 | 0x0040;

pub fn logon_xml(user: &str, pass: &str, caps: u32) -> String {
    envelope(&format!(
        "<ns:logon><szUsername>{user}</szUsername><szPassword>{pass}</szPassword><szImpersonateUser/><szVersion>8,7,0,0</szVersion><ulCapabilities>{caps}</ulCapabilities><ulFlags>0</ulFlags><sLicenseReq/><ullSessionGroup>0</ullSessionGroup><szClientApp>kc-tests</szClientApp><szClientAppVersion>1</szClientAppVersion><szClientAppMisc/></ns:logon>"
    ))
}

impl Conn {
    /// Log on and return (er, session id).
    pub fn logon(&mut self, headers: &[(&str, &str)], user: &str, pass: &str) -> (u32, u64) {
        let r = self.post(headers, &logon_xml(user, pass, CLIENT_CAPS));
        assert_eq!(r.status, 200, "{}", r.body);
        let sid = r
            .field("ulSessionId")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (r.er(), sid)
    }

    pub fn call(
        &mut self,
        headers: &[(&str, &str)],
        op: &str,
        sid: u64,
        params: &str,
    ) -> HttpResponse {
        let r = self.post(
            headers,
            &envelope(&format!(
                "<ns:{op}><ulSessionId>{sid}</ulSessionId>{params}</ns:{op}>"
            )),
        );
        assert_eq!(r.status, 200, "{op}: {}", r.body);
        r
    }
}

pub const UNABLE_TO_COMPLETE: u32 = 2147483688;
pub const NOT_FOUND: u32 = 2147483650;
pub const LOGON_FAILED: u32 = 2147483657;
pub const END_OF_SESSION: u32 = 2147483664;
pub const BAD_CHARWIDTH: u32 = 0x8000_0031;
pub const INVALID_PARAMETER: u32 = 0x8000_0014;
pub const NETWORK_ERROR: u32 = 2147483652;
