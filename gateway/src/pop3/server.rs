//! POP3 sessions (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH PLAIN
//! RFC 5034) on the store API: the maildrop is the Inbox, listed once at
//! login; DELE only marks, and the marked messages are deleted at QUIT
//! (UPDATE state). A session that ends any other way deletes nothing.
//!
//! Reads are bounded by [`LineReceiver`]'s line limit and a fixed read
//! chunk; replies are queued while pipelined commands are pending and sent
//! when the input is drained or the queue exceeds [`FLUSH_AT`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use kc_store_api::client::{ClientError, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{debug, info, warn, Instrument};

use super::parser::{parse_command, parse_sasl_line, Command, LineReceiver, Pop3Error, SaslLine};
use super::response::{self, capa_response, RespCode, Response};
use super::top::top;
use crate::context::GatewayContext;
use crate::net::Conn;
use kc_mail_proto::capability::CapaState;

/// Bytes read from the socket at once.
const READ_CHUNK: usize = 4096;
/// Queued reply bytes that force a write even with commands pending.
const FLUSH_AT: usize = 64 * 1024;
/// Inactivity before login (seconds are generous for humans on telnet).
const LOGIN_TIMEOUT: Duration = Duration::from_secs(120);
/// Inactivity after login (RFC 1939 §3: at least 10 minutes).
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// Interval of keep-alive requests to the node while a client idles.
const KEEPALIVE: Duration = Duration::from_secs(60);
/// Failed logins before the connection is closed.
const MAX_AUTH_FAILURES: u32 = 3;
/// Consecutive rejected commands before the connection is closed.
const MAX_BAD_COMMANDS: u32 = 20;
/// Items per listing request while opening the maildrop.
const LIST_PAGE: u32 = 10_000;
/// The client application name the node records for our logons.
const CLIENT_APP: &str = "kc-gateway/pop3";

/// Serves one POP3 connection until QUIT, error, timeout or shutdown.
pub async fn serve_connection(conn: Conn, peer: SocketAddr, ctx: Arc<GatewayContext>) {
    // The listener's span already names the peer.
    let span = tracing::info_span!("pop3", user = tracing::field::Empty);
    async move {
        let mut s = Pop3Session::new(conn, peer, ctx);
        if let Err(e) = s.run().await {
            debug!("connection ended: {e}");
        }
        // Not via QUIT: RFC 1939 §6, nothing marked is deleted.
        if let Some(m) = s.maildrop.take() {
            m.session.logoff().await;
        }
    }
    .instrument(span)
    .await
}

struct Msg {
    uid: u32,
    size: u64,
    deleted: bool,
}

struct Maildrop {
    /// Exclusive access until the session ends (RFC 1939 §8).
    _lock: super::lock::MaildropGuard,
    session: Session,
    folder: i64,
    uid_validity: u32,
    msgs: Vec<Msg>,
}

enum Flow {
    Continue,
    StartTls,
    Close,
}

struct Pop3Session {
    conn: Option<Conn>,
    peer: SocketAddr,
    ctx: Arc<GatewayContext>,
    rx: LineReceiver,
    out: Vec<u8>,
    claimed: Option<IpAddr>,
    user: Option<String>,
    maildrop: Option<Maildrop>,
    sasl_pending: bool,
    auth_failures: u32,
    bad_commands: u32,
}

fn err(text: impl Into<String>) -> Response {
    Response::Err(None, text.into())
}

fn closed() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotConnected, "connection gone")
}

impl Pop3Session {
    fn new(conn: Conn, peer: SocketAddr, ctx: Arc<GatewayContext>) -> Self {
        Pop3Session {
            conn: Some(conn),
            peer,
            ctx,
            rx: LineReceiver::new(),
            out: Vec::new(),
            claimed: None,
            user: None,
            maildrop: None,
            sasl_pending: false,
            auth_failures: 0,
            bad_commands: 0,
        }
    }

    fn tls_active(&self) -> bool {
        self.conn.as_ref().is_some_and(Conn::is_tls)
    }

    fn send(&mut self, r: &Response) {
        r.serialize(&mut self.out);
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let conn = self.conn.as_mut().ok_or_else(closed)?;
        conn.write_all(&self.out).await?;
        conn.flush().await?;
        self.out.clear();
        Ok(())
    }

    async fn run(&mut self) -> std::io::Result<()> {
        let greeting = Response::Ok(self.ctx.greeting("POP3"));
        self.send(&greeting);
        self.flush().await?;
        let mut shutdown = self.ctx.shutdown.clone();
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            while let Some(line) = self.rx.next_line() {
                let flow = match line {
                    Ok(l) => self.handle_line(&l).await,
                    Err(e) => self.reject(&e),
                };
                match flow {
                    Flow::Continue => {
                        if self.out.len() >= FLUSH_AT {
                            self.flush().await?;
                        }
                    }
                    Flow::Close => {
                        self.flush().await?;
                        if let Some(c) = self.conn.as_mut() {
                            let _ = c.shutdown().await;
                        }
                        return Ok(());
                    }
                    Flow::StartTls => {
                        self.flush().await?;
                        self.start_tls().await?;
                        // Anything pipelined after STLS was sent in clear: drop it.
                        self.rx = LineReceiver::new();
                        break;
                    }
                }
            }
            self.flush().await?;
            let n = match self.wait_input(&mut buf, &mut shutdown).await? {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(why) => {
                    self.send(&Response::Err(Some(RespCode::SysTemp), why.into()));
                    self.flush().await?;
                    return Ok(());
                }
            };
            self.rx.feed(&buf[..n]);
        }
    }

    /// Reads the next bytes: `Ok(Ok(n))` (0 at the end of input), or
    /// `Ok(Err(reason))` for an idle timeout or shutdown. While logged in, the
    /// node session is kept alive (it expires after `session_timeout`, at
    /// least 5 minutes, while RFC 1939 wants 10 minutes of patience).
    async fn wait_input(
        &mut self,
        buf: &mut [u8],
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> std::io::Result<Result<usize, &'static str>> {
        let timeout = if self.maildrop.is_some() {
            IDLE_TIMEOUT
        } else {
            LOGIN_TIMEOUT
        };
        let deadline = Instant::now() + timeout;
        loop {
            let wake = if self.maildrop.is_some() {
                (Instant::now() + KEEPALIVE).min(deadline)
            } else {
                deadline
            };
            let conn = self.conn.as_mut().ok_or_else(closed)?;
            // Reads of TcpStream and tokio-rustls streams are cancel-safe.
            let input = tokio::select! {
                r = conn.read(buf) => Some(r),
                _ = tokio::time::sleep_until(wake) => None,
                _ = shutdown.wait_for(|v| *v) => return Ok(Err("server shutting down")),
            };
            match input {
                Some(r) => return r.map(Ok),
                None if Instant::now() >= deadline => {
                    return Ok(Err("autologout; idle for too long"))
                }
                None => {
                    if let Some(m) = &self.maildrop {
                        if let Err(e) = m.session.keepalive().await {
                            debug!("keepalive: {e}");
                        }
                    }
                }
            }
        }
    }

    async fn start_tls(&mut self) -> std::io::Result<()> {
        let acceptor = self
            .ctx
            .tls_acceptor()
            .ok_or_else(|| std::io::Error::other("no TLS configured"))?;
        let conn = self.conn.take().ok_or_else(closed)?;
        match crate::net::accept_tls(conn, &acceptor, crate::listeners::HANDSHAKE_TIMEOUT).await {
            Ok(c) => {
                self.conn = Some(c);
                debug!("STLS done");
                Ok(())
            }
            Err(e) => {
                if let Some(t) = kc_certs::tls::handshake_error(&e) {
                    info!("STLS handshake failed: {t}");
                }
                Err(e)
            }
        }
    }

    /// Answers a rejected line; too many in a row end the connection.
    fn reject(&mut self, e: &Pop3Error) -> Flow {
        self.sasl_pending = false;
        self.send(&Response::from(e));
        self.bad_commands += 1;
        if self.bad_commands >= MAX_BAD_COMMANDS {
            self.send(&err("too many bad commands"));
            return Flow::Close;
        }
        Flow::Continue
    }

    async fn handle_line(&mut self, line: &[u8]) -> Flow {
        if self.sasl_pending {
            self.sasl_pending = false;
            return match parse_sasl_line(line) {
                Ok(SaslLine::Cancel) => {
                    self.send(&err("authentication cancelled"));
                    Flow::Continue
                }
                Ok(SaslLine::Data(d)) => self.auth_plain(&d).await,
                Err(e) => self.reject(&e),
            };
        }
        let cmd = match parse_command(line) {
            Ok(c) => c,
            Err(e) => return self.reject(&e),
        };
        self.bad_commands = 0;
        if self.maildrop.is_some() {
            self.transaction(cmd).await
        } else {
            self.authorization(cmd).await
        }
    }

    fn capa_state(&self) -> CapaState {
        CapaState {
            authenticated: self.maildrop.is_some(),
            tls_active: self.tls_active(),
            stls_available: self.ctx.tls.is_some(),
            plaintext_auth_allowed: self.plaintext_allowed(),
            xclient: self.ctx.is_trusted_edge(self.peer.ip()),
        }
    }

    fn plaintext_allowed(&self) -> bool {
        self.ctx
            .plaintext_auth_allowed(self.tls_active(), self.peer.ip())
    }

    fn plaintext_refused(&mut self) -> Flow {
        self.send(&Response::Err(
            Some(RespCode::Auth),
            "Plaintext authentication disallowed on non-secure connections; use STLS".into(),
        ));
        Flow::Continue
    }

    async fn authorization(&mut self, cmd: Command) -> Flow {
        match cmd {
            Command::Capa => {
                let r = capa_response(self.capa_state());
                self.send(&r);
            }
            Command::Stls => {
                if self.tls_active() {
                    self.send(&err("TLS is already active"));
                } else if self.ctx.tls.is_none() {
                    self.send(&err("STLS is not available"));
                } else {
                    self.send(&Response::Ok("Begin TLS negotiation".into()));
                    return Flow::StartTls;
                }
            }
            Command::User(name) => {
                if !self.plaintext_allowed() {
                    return self.plaintext_refused();
                }
                self.user = Some(name);
                self.send(&Response::Ok("send PASS".into()));
            }
            Command::Pass(pw) => {
                if !self.plaintext_allowed() {
                    return self.plaintext_refused();
                }
                let Some(user) = self.user.take() else {
                    self.send(&err("USER first"));
                    return Flow::Continue;
                };
                return self.login(&user, &pw).await;
            }
            Command::Auth {
                mechanism: None, ..
            } => {
                self.send(&Response::MultiLine {
                    first: "methods supported".into(),
                    body: b"PLAIN\r\n".to_vec(),
                });
            }
            Command::Auth {
                mechanism: Some(m),
                initial_response,
            } => {
                if m != "PLAIN" {
                    self.send(&err("unsupported authentication mechanism"));
                } else if !self.plaintext_allowed() {
                    return self.plaintext_refused();
                } else if let Some(ir) = initial_response {
                    return self.auth_plain(&ir).await;
                } else {
                    self.sasl_pending = true;
                    self.send(&Response::Continue(String::new()));
                }
            }
            Command::Xclient(attrs) => self.xclient(&attrs),
            Command::Quit => {
                self.send(&Response::Ok("bye".into()));
                return Flow::Close;
            }
            Command::Stat
            | Command::List(_)
            | Command::Uidl(_)
            | Command::Retr(_)
            | Command::Top { .. }
            | Command::Dele(_)
            | Command::Rset
            | Command::Noop => self.send(&err("not logged in")),
        }
        Flow::Continue
    }

    /// `XCLIENT ADDR=...` from a trusted edge: the client's real address,
    /// used for the node's audit log and the login log lines.
    fn xclient(&mut self, attrs: &[(String, String)]) {
        if !self.ctx.is_trusted_edge(self.peer.ip()) {
            warn!("XCLIENT from an untrusted peer refused");
            self.send(&err("XCLIENT not permitted"));
            return;
        }
        for (k, v) in attrs {
            if k == "ADDR" {
                let v = v
                    .strip_prefix("IPV6:")
                    .or_else(|| v.strip_prefix("ipv6:"))
                    .unwrap_or(v);
                match v.parse::<IpAddr>() {
                    Ok(ip) => self.claimed = Some(ip),
                    Err(_) => {
                        self.send(&err("XCLIENT ADDR is not an IP address"));
                        return;
                    }
                }
            }
        }
        debug!(claimed = ?self.claimed, "XCLIENT");
        self.send(&Response::Ok("XCLIENT accepted".into()));
    }

    async fn auth_plain(&mut self, msg: &[u8]) -> Flow {
        match kc_mail_proto::sasl::decode_plain(msg) {
            Ok(c) => {
                if c.authorizes_other_user() {
                    self.send(&Response::Err(
                        Some(RespCode::Auth),
                        "authorization identity must match the user".into(),
                    ));
                    return self.count_failure();
                }
                self.login(&c.authcid, &c.password).await
            }
            Err(e) => {
                self.send(&err(format!("invalid PLAIN message: {e}")));
                Flow::Continue
            }
        }
    }

    fn count_failure(&mut self) -> Flow {
        self.auth_failures += 1;
        if self.auth_failures >= MAX_AUTH_FAILURES {
            self.send(&err("too many failed logins"));
            return Flow::Close;
        }
        Flow::Continue
    }

    async fn login(&mut self, user: &str, password: &[u8]) -> Flow {
        let source = self.ctx.originating_ip(self.peer.ip(), self.claimed);
        let Ok(pw) = std::str::from_utf8(password) else {
            info!(user, %source, "POP3 login failed: password is not UTF-8");
            self.send(&Response::Err(
                Some(RespCode::Auth),
                "Wrong username or password".into(),
            ));
            return self.count_failure();
        };
        let session = match self
            .ctx
            .client
            .logon_from(user, pw, CLIENT_APP, Some(source))
            .await
        {
            Ok(s) => s,
            Err(ClientError::LogonFailed) => {
                info!(user, %source, "POP3 login failed: wrong username or password");
                self.send(&Response::Err(
                    Some(RespCode::Auth),
                    "Wrong username or password".into(),
                ));
                return self.count_failure();
            }
            Err(e) => {
                warn!(user, %source, "POP3 login failed: {e}");
                self.send(&Response::Err(
                    Some(RespCode::SysTemp),
                    "the mail store is not available; try again later".into(),
                ));
                return Flow::Continue;
            }
        };
        match session.user().await {
            Ok(u) if !u.feature("pop3") => {
                info!(user, %source, "POP3 login refused: pop3 feature disabled");
                session.logoff().await;
                self.send(&Response::Err(
                    Some(RespCode::Auth),
                    "POP3 access is disabled for this account".into(),
                ));
                return self.count_failure();
            }
            Ok(_) => {}
            Err(e) => {
                warn!(user, "cannot read the user's features: {e}");
                session.logoff().await;
                self.send(&Response::Err(
                    Some(RespCode::SysTemp),
                    "cannot check POP3 access; try again later".into(),
                ));
                return Flow::Continue;
            }
        }
        // A client that reconnects right after dropping its connection may
        // arrive before that session has noticed; give it a moment.
        let mut lock = self.ctx.pop3_locks.try_lock(session.login());
        for _ in 0..20 {
            if lock.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            lock = self.ctx.pop3_locks.try_lock(session.login());
        }
        let Some(lock) = lock else {
            info!(user = session.login(), %source, "POP3 login refused: maildrop in use");
            session.logoff().await;
            self.send(&Response::Err(
                Some(RespCode::InUse),
                "maildrop already in use by another session".into(),
            ));
            return Flow::Continue;
        };
        match open_maildrop(session.clone(), lock).await {
            Ok(m) => {
                tracing::Span::current().record("user", session.login());
                let (n, size) = totals(&m.msgs);
                info!(user = session.login(), %source, messages = n, "POP3 login");
                self.maildrop = Some(m);
                self.send(&Response::Ok(format!(
                    "maildrop has {n} messages ({size} octets)"
                )));
            }
            Err(e) => {
                warn!(user, "cannot open the Inbox: {e}");
                session.logoff().await;
                self.send(&Response::Err(
                    Some(RespCode::SysTemp),
                    "cannot open the Inbox; try again later".into(),
                ));
            }
        }
        Flow::Continue
    }

    async fn transaction(&mut self, cmd: Command) -> Flow {
        let Some(m) = self.maildrop.as_mut() else {
            return Flow::Close;
        };
        let r = match cmd {
            Command::Capa => capa_response(CapaState {
                authenticated: true,
                tls_active: self.conn.as_ref().is_some_and(Conn::is_tls),
                ..CapaState::default()
            }),
            Command::Stat => {
                let (n, size) = totals(&m.msgs);
                response::stat(n, size)
            }
            Command::List(None) => {
                let rows: Vec<(u32, u64)> = live(&m.msgs).map(|(n, msg)| (n, msg.size)).collect();
                response::scan_listing(&rows)
            }
            Command::List(Some(n)) => match lookup(&m.msgs, n) {
                Ok(msg) => Response::Ok(format!("{n} {}", msg.size)),
                Err(r) => r,
            },
            Command::Uidl(None) => {
                let ids: Vec<(u32, String)> = live(&m.msgs)
                    .map(|(n, msg)| (n, unique_id(m.uid_validity, msg.uid)))
                    .collect();
                let rows: Vec<(u32, &str)> = ids.iter().map(|(n, s)| (*n, s.as_str())).collect();
                response::uidl_listing(&rows)
            }
            Command::Uidl(Some(n)) => match lookup(&m.msgs, n) {
                Ok(msg) => Response::Ok(format!("{n} {}", unique_id(m.uid_validity, msg.uid))),
                Err(r) => r,
            },
            Command::Retr(n) => match lookup(&m.msgs, n) {
                Ok(msg) => {
                    let size = msg.size;
                    match m.session.fetch(m.folder, msg.uid).await {
                        Ok(body) => Response::MultiLine {
                            first: format!("{size} octets"),
                            body: body.to_vec(),
                        },
                        Err(e) => fetch_error(n, &e),
                    }
                }
                Err(r) => r,
            },
            Command::Top { msg: n, lines } => match lookup(&m.msgs, n) {
                Ok(msg) => match m.session.fetch(m.folder, msg.uid).await {
                    Ok(body) => Response::MultiLine {
                        first: "top of message follows".into(),
                        body: top(&body, lines).to_vec(),
                    },
                    Err(e) => fetch_error(n, &e),
                },
                Err(r) => r,
            },
            Command::Dele(n) => match lookup_mut(&mut m.msgs, n) {
                Ok(msg) => {
                    msg.deleted = true;
                    Response::Ok(format!("message {n} deleted"))
                }
                Err(r) => r,
            },
            Command::Rset => {
                for msg in &mut m.msgs {
                    msg.deleted = false;
                }
                let (n, size) = totals(&m.msgs);
                Response::Ok(format!("maildrop has {n} messages ({size} octets)"))
            }
            Command::Noop => Response::Ok(String::new()),
            Command::Quit => return self.update().await,
            Command::User(_)
            | Command::Pass(_)
            | Command::Auth { .. }
            | Command::Stls
            | Command::Xclient(_) => err("already logged in"),
        };
        self.send(&r);
        Flow::Continue
    }

    /// QUIT in TRANSACTION state: delete the marked messages, log off.
    async fn update(&mut self) -> Flow {
        let Some(m) = self.maildrop.take() else {
            return Flow::Close;
        };
        let uids: Vec<u32> = m.msgs.iter().filter(|x| x.deleted).map(|x| x.uid).collect();
        let r = if uids.is_empty() {
            Response::Ok("bye".into())
        } else {
            match m.session.delete(m.folder, &uids).await {
                Ok(done) => {
                    info!(deleted = done.len(), "POP3 QUIT");
                    Response::Ok(format!("bye, {} messages deleted", uids.len()))
                }
                Err(e) => {
                    warn!("deleting at QUIT failed: {e}");
                    Response::Err(
                        Some(RespCode::SysTemp),
                        "some deleted messages not removed".into(),
                    )
                }
            }
        };
        m.session.logoff().await;
        self.send(&r);
        Flow::Close
    }
}

/// The persistent unique id of a message (RFC 1939 §7: 0x21–0x7E, at most
/// 70 characters): UIDVALIDITY and UID stay fixed for the item's life.
fn unique_id(uid_validity: u32, uid: u32) -> String {
    format!("{uid_validity}.{uid}")
}

fn live(msgs: &[Msg]) -> impl Iterator<Item = (u32, &Msg)> {
    msgs.iter()
        .zip(1u32..)
        .filter(|(m, _)| !m.deleted)
        .map(|(m, n)| (n, m))
}

fn totals(msgs: &[Msg]) -> (u32, u64) {
    live(msgs).fold((0, 0), |(n, s), (_, m)| (n + 1, s + m.size))
}

fn index(msgs: &[Msg], n: u32) -> Result<usize, Response> {
    let i = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .filter(|i| *i < msgs.len())
        .ok_or_else(|| err("no such message"))?;
    if msgs[i].deleted {
        return Err(err(format!("message {n} already deleted")));
    }
    Ok(i)
}

fn lookup(msgs: &[Msg], n: u32) -> Result<&Msg, Response> {
    index(msgs, n).map(|i| &msgs[i])
}

fn lookup_mut(msgs: &mut [Msg], n: u32) -> Result<&mut Msg, Response> {
    let i = index(msgs, n)?;
    Ok(&mut msgs[i])
}

fn fetch_error(n: u32, e: &ClientError) -> Response {
    match e {
        ClientError::NotFound => err(format!("message {n} was removed by another session")),
        e => {
            warn!("fetching message {n}: {e}");
            Response::Err(Some(RespCode::SysTemp), "cannot read the message".into())
        }
    }
}

/// Lists the Inbox once: the message numbers are fixed for the session.
async fn open_maildrop(
    session: Session,
    lock: super::lock::MaildropGuard,
) -> Result<Maildrop, ClientError> {
    let folders = session.folders().await?;
    let inbox = folders
        .iter()
        .find(|f| f.role.as_deref() == Some("inbox"))
        .ok_or(ClientError::NotFound)?;
    let mut msgs = Vec::new();
    let mut after = 0;
    loop {
        let page = session
            .list_items(inbox.id, after, LIST_PAGE, &["uid", "size"])
            .await?;
        let full = page.items.len() >= LIST_PAGE as usize;
        for it in page.items {
            after = it.uid;
            msgs.push(Msg {
                uid: it.uid,
                size: u64::try_from(it.size).unwrap_or(0),
                deleted: false,
            });
        }
        if !full {
            break;
        }
    }
    Ok(Maildrop {
        _lock: lock,
        session,
        folder: inbox.id,
        uid_validity: inbox.uid_validity,
        msgs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs() -> Vec<Msg> {
        vec![
            Msg {
                uid: 5,
                size: 100,
                deleted: false,
            },
            Msg {
                uid: 9,
                size: 20,
                deleted: true,
            },
            Msg {
                uid: 12,
                size: 3,
                deleted: false,
            },
        ]
    }

    #[test]
    fn numbering() {
        let m = msgs();
        assert_eq!(totals(&m), (2, 103));
        let n: Vec<u32> = live(&m).map(|(n, _)| n).collect();
        assert_eq!(n, vec![1, 3]);
        assert_eq!(lookup(&m, 3).map(|x| x.uid).ok(), Some(12));
        assert!(lookup(&m, 2).is_err());
        assert!(lookup(&m, 4).is_err());
        assert!(lookup(&m, 0).is_err());
        assert_eq!(unique_id(7, 12), "7.12");
    }
}
