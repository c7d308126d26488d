//! The node side of a login: connect to the user's gateway (plain, TLS or
//! STARTTLS), hand over the client's address (IMAP `ID` with
//! `x-originating-ip`, POP3 `XCLIENT` when the node's CAPA offers it),
//! replay the credentials and report the outcome. The reply parsing is
//! pure and unit-tested; the dialogue functions do the I/O.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use kc_mail_proto::imap::quote::write_string;

use super::stream::{LineConn, MailStream};
use super::{Credentials, UpstreamTls};

/// Longest line accepted from a node during the login dialogue.
pub const MAX_NODE_LINE: usize = 65536;
/// Most untagged lines or CAPA entries accepted during the login dialogue.
const MAX_NODE_LINES: usize = 256;

/// The node could not be used (the client gets "temporarily unavailable").
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// TCP connect failed.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Node address.
        addr: SocketAddr,
        /// Cause.
        source: io::Error,
    },
    /// TCP connect (or the TLS handshake) took longer than allowed.
    #[error("connecting to {0} timed out")]
    ConnectTimeout(SocketAddr),
    /// TLS towards the node failed.
    #[error("TLS with the node failed: {0}")]
    Tls(String),
    /// Reading or writing failed, or a reply took too long.
    #[error("node I/O: {0}")]
    Io(#[from] io::Error),
    /// The node said something the dialogue does not allow.
    #[error("unexpected node reply: {0}")]
    Protocol(String),
}

/// Where and how to reach a node's gateway.
#[derive(Debug, Clone)]
pub struct Target {
    /// Resolved address and port.
    pub addr: SocketAddr,
    /// Node host name (the TLS server name).
    pub host: String,
    /// Transport.
    pub mode: UpstreamTls,
    /// TLS client configuration (internal CA); required unless `Plain`.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// TCP connect plus TLS handshake limit.
    pub connect_timeout: Duration,
    /// Wait limit per node reply.
    pub reply_timeout: Duration,
}

/// The client as the node should see it.
#[derive(Debug, Clone, Copy)]
pub struct ClientInfo {
    /// The client's address and port.
    pub peer: SocketAddr,
    /// The edge address the client connected to.
    pub local: SocketAddr,
}

/// How a login ended at the node.
#[derive(Debug)]
pub enum Outcome {
    /// Logged in; relay from here on.
    LoggedIn(LoggedIn),
    /// The node refused.
    Rejected {
        /// `true`: the node is unwell (unavailable, in use); not the
        /// client's fault, not counted as a failed login.
        temporary: bool,
        /// The node's reply text (for the log only).
        text: String,
    },
}

/// A logged-in node connection.
#[derive(Debug)]
pub struct LoggedIn {
    /// The connection; its reader may hold bytes already received.
    pub conn: LineConn,
    /// IMAP: the node's capability list after login, if it sent one.
    pub capability: Option<String>,
    /// IMAP: untagged lines the node sent along with the login reply.
    pub untagged: Vec<Vec<u8>>,
}

fn protocol(what: &str, line: &[u8]) -> UpstreamError {
    let mut shown = String::from_utf8_lossy(line).into_owned();
    shown.truncate(200);
    UpstreamError::Protocol(format!("{what}: {shown}"))
}

/// Opens the connection (TLS as configured, except STARTTLS, which needs
/// the greeting first).
async fn connect(t: &Target) -> Result<MailStream, UpstreamError> {
    let tcp = tokio::time::timeout(t.connect_timeout, TcpStream::connect(t.addr))
        .await
        .map_err(|_| UpstreamError::ConnectTimeout(t.addr))?
        .map_err(|source| UpstreamError::Connect {
            addr: t.addr,
            source,
        })?;
    let _ = tcp.set_nodelay(true);
    let stream = MailStream::Plain(tcp);
    if t.mode == UpstreamTls::Implicit {
        return start_tls(stream, t).await;
    }
    Ok(stream)
}

async fn start_tls(stream: MailStream, t: &Target) -> Result<MailStream, UpstreamError> {
    let cfg = t
        .tls
        .clone()
        .ok_or_else(|| UpstreamError::Tls("no upstream TLS configuration".into()))?;
    let name = ServerName::try_from(t.host.clone())
        .map_err(|_| UpstreamError::Tls(format!("'{}' is not a valid TLS name", t.host)))?;
    crate::mail::stream::connect_tls(stream, cfg, name, t.connect_timeout)
        .await
        .map_err(|e| {
            UpstreamError::Tls(
                kc_certs::tls::handshake_error(&e).map_or_else(|| e.to_string(), |t| t.to_string()),
            )
        })
}

// ---------------------------------------------------------------- IMAP

/// Status of a tagged IMAP reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// OK.
    Ok,
    /// NO.
    No,
    /// BAD.
    Bad,
}

/// The status and text of `line` if it is the tagged reply for `tag`.
pub fn tagged<'a>(line: &'a [u8], tag: &str) -> Option<(Status, &'a [u8])> {
    let rest = line.strip_prefix(tag.as_bytes())?.strip_prefix(b" ")?;
    let (word, text) = match rest.iter().position(|&b| b == b' ') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b""[..]),
    };
    let status = if word.eq_ignore_ascii_case(b"OK") {
        Status::Ok
    } else if word.eq_ignore_ascii_case(b"NO") {
        Status::No
    } else if word.eq_ignore_ascii_case(b"BAD") {
        Status::Bad
    } else {
        return None;
    };
    Some((status, text))
}

/// The response code of a status text (`[UNAVAILABLE] ...` -> `UNAVAILABLE`),
/// upper case, without arguments.
pub fn response_code(text: &[u8]) -> Option<String> {
    let inner = text.strip_prefix(b"[")?;
    let end = inner.iter().position(|&b| b == b']' || b == b' ')?;
    Some(String::from_utf8_lossy(&inner[..end]).to_ascii_uppercase())
}

/// The capability list of a `[CAPABILITY ...]` response code.
pub fn capability_code(text: &[u8]) -> Option<String> {
    let inner = text.strip_prefix(b"[")?;
    if inner.len() < 11 || !inner[..11].eq_ignore_ascii_case(b"CAPABILITY ") {
        return None;
    }
    let end = inner.iter().position(|&b| b == b']')?;
    Some(String::from_utf8_lossy(&inner[11..end]).trim().to_string())
}

/// The list of an untagged `* CAPABILITY ...` line.
pub fn untagged_capability(line: &[u8]) -> Option<String> {
    let rest = line.strip_prefix(b"* ")?;
    if rest.len() < 11 || !rest[..11].eq_ignore_ascii_case(b"CAPABILITY ") {
        return None;
    }
    Some(String::from_utf8_lossy(&rest[11..]).trim().to_string())
}

/// Whether a space-separated capability list contains `name`.
pub fn has_capability(list: &str, name: &str) -> bool {
    list.split_ascii_whitespace()
        .any(|c| c.eq_ignore_ascii_case(name))
}

/// Whether a NO from a node means "try again later" rather than "wrong
/// credentials" (RFC 5530 codes).
pub fn imap_temporary(text: &[u8]) -> bool {
    matches!(
        response_code(text).as_deref(),
        Some("UNAVAILABLE" | "SERVERBUG" | "INUSE" | "LIMIT" | "CONTACTADMIN")
    )
}

/// The ID command that carries the client's address (Dovecot's
/// Design.ParameterForwarding names; kc-gateway reads the same).
pub fn imap_id_command(tag: &str, client: &ClientInfo) -> String {
    let fields = [
        ("x-originating-ip", client.peer.ip().to_string()),
        ("x-originating-port", client.peer.port().to_string()),
        ("x-connected-ip", client.local.ip().to_string()),
        ("x-connected-port", client.local.port().to_string()),
    ];
    let mut out = format!("{tag} ID (").into_bytes();
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_string(&mut out, k.as_bytes());
        out.push(b' ');
        write_string(&mut out, v.as_bytes());
    }
    out.extend_from_slice(b")\r\n");
    // Addresses and port numbers are ASCII: always quoted strings.
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads until the tagged reply for `tag`; returns it and the untagged
/// lines before it.
async fn imap_until_tagged(
    conn: &mut LineConn,
    tag: &str,
) -> Result<(Status, Vec<u8>, Vec<Vec<u8>>), UpstreamError> {
    let mut untagged = Vec::new();
    loop {
        let line = conn.line().await?;
        if let Some((status, text)) = tagged(&line, tag) {
            return Ok((status, text.to_vec(), untagged));
        }
        if !line.starts_with(b"* ") {
            return Err(protocol("expected an untagged or tagged reply", &line));
        }
        if untagged.len() >= MAX_NODE_LINES {
            return Err(UpstreamError::Protocol("too many untagged replies".into()));
        }
        untagged.push(line);
    }
}

/// Waits for a `+` continuation request.
async fn imap_continuation(conn: &mut LineConn, tag: &str) -> Result<(), UpstreamError> {
    loop {
        let line = conn.line().await?;
        if line.starts_with(b"+") {
            return Ok(());
        }
        if tagged(&line, tag).is_some() {
            return Err(protocol("command refused", &line));
        }
        if !line.starts_with(b"* ") {
            return Err(protocol("expected a continuation", &line));
        }
    }
}

async fn imap_capabilities(conn: &mut LineConn, tag: &str) -> Result<String, UpstreamError> {
    conn.send(format!("{tag} CAPABILITY\r\n").as_bytes())
        .await?;
    let (status, text, untagged) = imap_until_tagged(conn, tag).await?;
    if status != Status::Ok {
        return Err(protocol("CAPABILITY failed", &text));
    }
    Ok(untagged
        .iter()
        .find_map(|l| untagged_capability(l))
        .unwrap_or_default())
}

/// Logs in to a node's IMAP gateway.
pub async fn imap_login(
    t: &Target,
    client: &ClientInfo,
    creds: &Credentials,
) -> Result<Outcome, UpstreamError> {
    let mut conn = LineConn::new(connect(t).await?, MAX_NODE_LINE, t.reply_timeout);
    let greeting = conn.line().await?;
    let Some(text) = greeting.strip_prefix(b"* OK") else {
        return Err(protocol("greeting", &greeting));
    };
    let mut caps = capability_code(text.strip_prefix(b" ").unwrap_or(text));
    if t.mode == UpstreamTls::StartTls {
        conn.send(b"kcp0 STARTTLS\r\n").await?;
        let (status, text, _) = imap_until_tagged(&mut conn, "kcp0").await?;
        if status != Status::Ok {
            return Err(protocol("STARTTLS refused", &text));
        }
        conn.stream = start_tls(conn.stream, t).await?;
        conn.reader.clear();
        caps = None;
    }
    let caps = match caps {
        Some(c) => c,
        None => imap_capabilities(&mut conn, "kcp1").await?,
    };
    if has_capability(&caps, "ID") {
        conn.send(imap_id_command("kcp2", client).as_bytes())
            .await?;
        // The reply does not matter; an old node may refuse ID.
        imap_until_tagged(&mut conn, "kcp2").await?;
    }
    let tag = "kcp3";
    if has_capability(&caps, "AUTH=PLAIN") {
        let b64 = creds.plain_response();
        if has_capability(&caps, "SASL-IR") {
            conn.send(format!("{tag} AUTHENTICATE PLAIN {b64}\r\n").as_bytes())
                .await?;
        } else {
            conn.send(format!("{tag} AUTHENTICATE PLAIN\r\n").as_bytes())
                .await?;
            imap_continuation(&mut conn, tag).await?;
            conn.send(format!("{b64}\r\n").as_bytes()).await?;
        }
    } else if has_capability(&caps, "LOGINDISABLED") {
        return Err(UpstreamError::Protocol(
            "the node refuses plaintext logins (LOGINDISABLED, no AUTH=PLAIN)".into(),
        ));
    } else {
        // Synchronising literals: any byte may be in the user name or password.
        conn.send(format!("{tag} LOGIN {{{}}}\r\n", creds.user.len()).as_bytes())
            .await?;
        imap_continuation(&mut conn, tag).await?;
        let mut user = creds.user.as_bytes().to_vec();
        user.extend_from_slice(format!(" {{{}}}\r\n", creds.password.len()).as_bytes());
        conn.send(&user).await?;
        imap_continuation(&mut conn, tag).await?;
        let mut pass = creds.password.clone();
        pass.extend_from_slice(b"\r\n");
        conn.send(&pass).await?;
    }
    let (status, text, untagged) = imap_until_tagged(&mut conn, tag).await?;
    match status {
        Status::Ok => {
            let capability = capability_code(&text)
                .or_else(|| untagged.iter().find_map(|l| untagged_capability(l)));
            let untagged = untagged
                .into_iter()
                .filter(|l| untagged_capability(l).is_none())
                .collect();
            Ok(Outcome::LoggedIn(LoggedIn {
                conn,
                capability,
                untagged,
            }))
        }
        Status::No => Ok(Outcome::Rejected {
            temporary: imap_temporary(&text),
            text: String::from_utf8_lossy(&text).into_owned(),
        }),
        Status::Bad => Err(protocol("login refused as malformed", &text)),
    }
}

// ---------------------------------------------------------------- POP3

/// Whether a POP3 CAPA list offers `XCLIENT`.
pub fn capa_has_xclient(capa: &[Vec<u8>]) -> bool {
    capa.iter().any(|l| {
        l.split(|&b| b == b' ')
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case(b"XCLIENT"))
    })
}

/// Whether a POP3 greeting offers XCLIENT in a response code (Dovecot
/// announces it there, to trusted networks only, rather than in CAPA).
pub fn greeting_has_xclient(greeting: &[u8]) -> bool {
    let text = greeting.strip_prefix(b"+OK ").unwrap_or(b"");
    response_code(text).as_deref() == Some("XCLIENT")
}

/// Whether a POP3 CAPA list offers SASL PLAIN.
pub fn capa_has_sasl_plain(capa: &[Vec<u8>]) -> bool {
    capa.iter().any(|l| {
        let mut words = l.split(|&b| b == b' ');
        words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case(b"SASL"))
            && words.any(|w| w.eq_ignore_ascii_case(b"PLAIN"))
    })
}

/// Whether a POP3 `-ERR` is the node's trouble rather than bad credentials
/// (RFC 3206 `SYS/...`, RFC 2449 `IN-USE`).
pub fn pop3_temporary(line: &[u8]) -> bool {
    let text = line.strip_prefix(b"-ERR ").unwrap_or(b"");
    matches!(
        response_code(text).as_deref(),
        Some("SYS/TEMP" | "SYS/PERM" | "IN-USE" | "LOGIN-DELAY")
    )
}

/// The XCLIENT command that carries the client's address.
pub fn xclient_command(client: &ClientInfo) -> String {
    format!(
        "XCLIENT ADDR={} PORT={}\r\n",
        client.peer.ip(),
        client.peer.port()
    )
}

async fn pop3_ok(conn: &mut LineConn, what: &str) -> Result<Vec<u8>, UpstreamError> {
    let line = conn.line().await?;
    if line.starts_with(b"+OK") {
        Ok(line)
    } else {
        Err(protocol(what, &line))
    }
}

async fn pop3_capa(conn: &mut LineConn) -> Result<Vec<Vec<u8>>, UpstreamError> {
    conn.send(b"CAPA\r\n").await?;
    let first = conn.line().await?;
    if !first.starts_with(b"+OK") {
        // A node without CAPA: RFC 1939 USER/PASS only.
        return Ok(Vec::new());
    }
    let mut caps = Vec::new();
    loop {
        let line = conn.line().await?;
        if line == b"." {
            return Ok(caps);
        }
        if caps.len() >= MAX_NODE_LINES {
            return Err(UpstreamError::Protocol("CAPA list too long".into()));
        }
        caps.push(line);
    }
}

/// Logs in to a node's POP3 gateway.
pub async fn pop3_login(
    t: &Target,
    client: &ClientInfo,
    creds: &Credentials,
) -> Result<Outcome, UpstreamError> {
    let mut conn = LineConn::new(connect(t).await?, MAX_NODE_LINE, t.reply_timeout);
    let greeting = pop3_ok(&mut conn, "greeting").await?;
    let mut xclient = greeting_has_xclient(&greeting);
    if t.mode == UpstreamTls::StartTls {
        conn.send(b"STLS\r\n").await?;
        pop3_ok(&mut conn, "STLS refused").await?;
        conn.stream = start_tls(conn.stream, t).await?;
        conn.reader.clear();
    }
    let caps = pop3_capa(&mut conn).await?;
    xclient |= capa_has_xclient(&caps);
    if xclient {
        conn.send(xclient_command(client).as_bytes()).await?;
        let reply = conn.line().await?;
        if !reply.starts_with(b"+OK") {
            tracing::warn!("node refused XCLIENT: {}", String::from_utf8_lossy(&reply));
        }
    }
    let reply = if capa_has_sasl_plain(&caps) {
        conn.send(format!("AUTH PLAIN {}\r\n", creds.plain_response()).as_bytes())
            .await?;
        conn.line().await?
    } else {
        conn.send(format!("USER {}\r\n", creds.user).as_bytes())
            .await?;
        let user = conn.line().await?;
        if user.starts_with(b"+OK") {
            let mut pass = b"PASS ".to_vec();
            pass.extend_from_slice(&creds.password);
            pass.extend_from_slice(b"\r\n");
            conn.send(&pass).await?;
            conn.line().await?
        } else {
            user
        }
    };
    if reply.starts_with(b"+OK") {
        return Ok(Outcome::LoggedIn(LoggedIn {
            conn,
            capability: None,
            untagged: Vec::new(),
        }));
    }
    if reply.starts_with(b"-ERR") {
        return Ok(Outcome::Rejected {
            temporary: pop3_temporary(&reply),
            text: String::from_utf8_lossy(&reply).into_owned(),
        });
    }
    Err(protocol("login reply", &reply))
}

#[cfg(test)]
mod tests;
