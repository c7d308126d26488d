//! The client side used by `kc-admin`: a small blocking HTTP/1.1 client over
//! the unix socket, plain TCP or TLS with a client certificate, a SOAP logon
//! as SYSTEM, then admin API calls.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::proto::{Envelope, Reply};
use crate::soap::xml::{parse_document, Limits};

/// Largest response accepted.
const MAX_RESPONSE: usize = 64 << 20;
const MAX_HEADER_LINE: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "invalid server_socket '{0}' (use file:///path, http://host:port/ or https://host:port/)"
    )]
    BadUrl(String),
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: std::io::Error },
    #[error("I/O error talking to {url}: {source}")]
    Io { url: String, source: std::io::Error },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("bad response from {url}: {reason}")]
    Protocol { url: String, reason: String },
    #[error("logon to {url} failed: {name}")]
    Logon { url: String, name: String },
}

/// Where the node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Unix(PathBuf),
    Http { host: String, port: u16 },
    Https { host: String, port: u16 },
}

/// Parse a KC `server_socket` value.
pub fn parse_target(url: &str) -> Result<Target, ClientError> {
    let bad = || ClientError::BadUrl(url.to_owned());
    if let Some(p) = url.strip_prefix("file://") {
        if p.is_empty() {
            return Err(bad());
        }
        return Ok(Target::Unix(PathBuf::from(p)));
    }
    if let Some(p) = url.strip_prefix("file:") {
        return Ok(Target::Unix(PathBuf::from(p)));
    }
    let (tls, rest, default_port) = if let Some(r) = url.strip_prefix("https://") {
        (true, r, 237)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r, 236)
    } else {
        return Err(bad());
    };
    let hostport = rest.split('/').next().unwrap_or("");
    let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
        let (h, after) = h.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None => default_port,
        };
        (h.to_owned(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad())?),
            None => (hostport.to_owned(), default_port),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok(if tls {
        Target::Https { host, port }
    } else {
        Target::Http { host, port }
    })
}

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(b),
            Stream::Tcp(s) => s.read(b),
            Stream::Tls(s) => s.read(b),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(b),
            Stream::Tcp(s) => s.write(b),
            Stream::Tls(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A logged-on admin connection (one keep-alive connection).
pub struct AdminClient {
    url: String,
    stream: BufReader<Stream>,
    session: u64,
}

/// TLS settings for an https target (admin.cfg `sslkey_file`, `sslkey_pass`, `server_ssl_ca_file`).
#[derive(Clone, Default)]
pub struct TlsSettings {
    pub client_cert: Option<PathBuf>,
    pub key_pass: Option<String>,
    pub ca_file: Option<PathBuf>,
}

fn connect(url: &str, target: &Target, tls: &TlsSettings) -> Result<Stream, ClientError> {
    let cerr = |source| ClientError::Connect {
        url: url.to_owned(),
        source,
    };
    let timeout = Some(Duration::from_secs(120));
    match target {
        Target::Unix(p) => {
            let s = UnixStream::connect(p).map_err(cerr)?;
            s.set_read_timeout(timeout).map_err(cerr)?;
            Ok(Stream::Unix(s))
        }
        Target::Http { host, port } => {
            let s = TcpStream::connect((host.as_str(), *port)).map_err(cerr)?;
            s.set_read_timeout(timeout).map_err(cerr)?;
            Ok(Stream::Tcp(s))
        }
        Target::Https { host, port } => {
            let spec = kc_certs::tls::ClientTls {
                ca_file: tls.ca_file.clone(),
                ca_dir: None,
                client_cert: tls.client_cert.clone(),
                client_key: None,
                key_pass: tls.key_pass.clone(),
                alpn: vec![],
            };
            let cfg: Arc<rustls::ClientConfig> =
                spec.build().map_err(|e| ClientError::Tls(e.to_string()))?;
            let name = rustls_pki_types::ServerName::try_from(host.clone())
                .map_err(|e| ClientError::Tls(e.to_string()))?;
            let conn = rustls::ClientConnection::new(cfg, name)
                .map_err(|e| ClientError::Tls(e.to_string()))?;
            let s = TcpStream::connect((host.as_str(), *port)).map_err(cerr)?;
            s.set_read_timeout(timeout).map_err(cerr)?;
            Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(conn, s))))
        }
    }
}

fn read_line_limited(r: &mut BufReader<Stream>, url: &str) -> Result<String, ClientError> {
    let mut buf = Vec::new();
    let n = r
        .by_ref()
        .take(MAX_HEADER_LINE as u64)
        .read_until(b'\n', &mut buf)
        .map_err(|source| ClientError::Io {
            url: url.to_owned(),
            source,
        })?;
    if n == 0 || !buf.ends_with(b"\n") {
        return Err(ClientError::Protocol {
            url: url.to_owned(),
            reason: "connection closed or header line too long".into(),
        });
    }
    Ok(String::from_utf8_lossy(&buf).trim_end().to_owned())
}

impl AdminClient {
    /// Connect and log on as SYSTEM (trusted by socket credentials or client certificate).
    pub fn connect(url: &str, tls: &TlsSettings) -> Result<AdminClient, ClientError> {
        let target = parse_target(url)?;
        let stream = connect(url, &target, tls)?;
        let mut c = AdminClient {
            url: url.to_owned(),
            stream: BufReader::new(stream),
            session: 0,
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ns=\"urn:zarafa\"><SOAP-ENV:Body><ns:logon><szUsername>SYSTEM</szUsername><szPassword></szPassword><szVersion>{}</szVersion><ulCapabilities>{}</ulCapabilities><ulFlags>0</ulFlags><szClientApp>kc-admin</szClientApp><szClientAppVersion>{}</szClientAppVersion></ns:logon></SOAP-ENV:Body></SOAP-ENV:Envelope>",
            crate::node::SERVER_VERSION,
            crate::caps::cap::UNICODE | crate::caps::cap::MULTI_SERVER,
            env!("CARGO_PKG_VERSION"),
        );
        let (status, resp) = c.post("/", "text/xml; charset=utf-8", body.as_bytes())?;
        let proto = |reason: String| ClientError::Protocol {
            url: url.to_owned(),
            reason,
        };
        let doc = parse_document(&resp, &Limits::default())
            .map_err(|e| proto(format!("HTTP {status}: {e}")))?;
        let resp = doc
            .child("Body")
            .and_then(|b| b.child("logonResponse"))
            .ok_or_else(|| proto(format!("HTTP {status}: no logonResponse")))?;
        let er: u32 = resp
            .child("er")
            .and_then(|e| e.text.trim().parse().ok())
            .ok_or_else(|| proto("no er".into()))?;
        if er != 0 {
            return Err(ClientError::Logon {
                url: url.to_owned(),
                name: crate::kcerr::KcErr(er).to_string(),
            });
        }
        c.session = resp
            .child("ulSessionId")
            .and_then(|e| e.text.trim().parse().ok())
            .ok_or_else(|| proto("no session id".into()))?;
        Ok(c)
    }

    fn post(
        &mut self,
        path: &str,
        ctype: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let url = self.url.clone();
        let io = |source| ClientError::Io {
            url: url.clone(),
            source,
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: kc-admin\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let w = self.stream.get_mut();
        w.write_all(head.as_bytes()).map_err(io)?;
        w.write_all(body).map_err(io)?;
        w.flush().map_err(io)?;
        let status_line = read_line_limited(&mut self.stream, &url)?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ClientError::Protocol {
                url: url.clone(),
                reason: format!("bad status line '{status_line}'"),
            })?;
        let mut len: Option<usize> = None;
        let mut chunked = false;
        for _ in 0..100 {
            let line = read_line_limited(&mut self.stream, &url)?;
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                if k == "content-length" {
                    len = v.trim().parse().ok();
                } else if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                    chunked = true;
                }
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                let l = read_line_limited(&mut self.stream, &url)?;
                let n = usize::from_str_radix(l.split(';').next().unwrap_or("").trim(), 16)
                    .map_err(|_| ClientError::Protocol {
                        url: url.clone(),
                        reason: "bad chunk size".into(),
                    })?;
                if out.len() + n > MAX_RESPONSE {
                    return Err(ClientError::Protocol {
                        url: url.clone(),
                        reason: "response too large".into(),
                    });
                }
                let mut chunk = vec![0; n + 2];
                self.stream.read_exact(&mut chunk).map_err(io)?;
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&chunk[..n]);
            }
        } else {
            let n = len.ok_or_else(|| ClientError::Protocol {
                url: url.clone(),
                reason: "response without length".into(),
            })?;
            if n > MAX_RESPONSE {
                return Err(ClientError::Protocol {
                    url: url.clone(),
                    reason: "response too large".into(),
                });
            }
            out.resize(n, 0);
            self.stream.read_exact(&mut out).map_err(io)?;
        }
        Ok((status, out))
    }

    /// Call an admin operation.
    pub fn call<Req: Serialize, Resp: DeserializeOwned>(
        &mut self,
        op: &str,
        req: Req,
    ) -> Result<Reply<Resp>, ClientError> {
        let body = serde_json::to_vec(&Envelope {
            session: self.session,
            body: req,
        })
        .map_err(|e| ClientError::Protocol {
            url: self.url.clone(),
            reason: e.to_string(),
        })?;
        let (status, resp) = self.post(
            &format!("{}{op}", crate::net::ADMIN_PREFIX),
            "application/json",
            &body,
        )?;
        serde_json::from_slice(&resp).map_err(|e| ClientError::Protocol {
            url: self.url.clone(),
            reason: format!("HTTP {status}: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("file:///var/run/kopano/server.sock").unwrap(),
            Target::Unix("/var/run/kopano/server.sock".into())
        );
        assert_eq!(
            parse_target("https://127.0.0.1:237/kopano").unwrap(),
            Target::Https {
                host: "127.0.0.1".into(),
                port: 237
            }
        );
        assert_eq!(
            parse_target("http://h").unwrap(),
            Target::Http {
                host: "h".into(),
                port: 236
            }
        );
        assert_eq!(
            parse_target("https://[::1]:9/").unwrap(),
            Target::Https {
                host: "::1".into(),
                port: 9
            }
        );
        assert!(parse_target("ftp://x").is_err());
        assert!(parse_target("http://:1/").is_err());
    }
}
