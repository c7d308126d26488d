//! The mail listeners and client sessions: accept (implicit TLS where
//! configured), answer the pre-login dialogue with [`imap_preauth`] /
//! [`pop3_preauth`], route and log in with [`upstream`] under the
//! [`Throttle`], then relay bytes both ways until either side closes.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use parking_lot::Mutex;
use pingora_core::server::ShutdownWatch;
use pingora_core::services::background::BackgroundService;
use tokio::net::TcpStream;
use tracing::Instrument;

use super::imap_preauth::{self, Assembler, Command, Event};
use super::line::{Line, LineReader};
use super::pop3_preauth::{self, Command as Pop3Command};
use super::sasl::{decode_plain, SaslError};
use super::stream::{read_some, send, LineConn, MailStream};
use super::throttle::{Throttle, Verdict};
use super::upstream::{self, ClientInfo, LoggedIn, Outcome, Target};
use super::{Credentials, MailConfig, Protocol};
use crate::state::{LookupError, Shared};

/// One bound mail listener.
#[derive(Debug)]
pub struct MailListener {
    /// The bound socket (non-blocking).
    pub listener: std::net::TcpListener,
    /// IMAP or POP3.
    pub protocol: Protocol,
    /// TLS from the first byte (993/995) rather than STARTTLS/STLS.
    pub implicit_tls: bool,
    /// Server TLS configuration (the proxy's certificates); `None`: no TLS
    /// at all on this listener.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl MailListener {
    /// Binds `addr` now, so that a port in use fails start-up.
    pub fn bind(
        addr: SocketAddr,
        protocol: Protocol,
        implicit_tls: bool,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> io::Result<MailListener> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(MailListener {
            listener,
            protocol,
            implicit_tls,
            tls,
        })
    }
}

/// State shared by every mail session.
pub struct MailContext {
    /// Node table, directory, resolver, metrics.
    pub shared: Arc<Shared>,
    /// Behaviour.
    pub cfg: MailConfig,
    /// Failed-login tables.
    pub throttle: Mutex<Throttle>,
    /// TLS client configuration towards the nodes (when not plain).
    pub upstream_tls: Option<Arc<rustls::ClientConfig>>,
    /// Pre-login connections per client address.
    pub preauth: Arc<super::preauth::PreauthLimiter>,
}

impl std::fmt::Debug for MailContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailContext")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// The pingora background service running every mail listener.
pub struct MailService {
    listeners: Mutex<Vec<MailListener>>,
    ctx: Arc<MailContext>,
}

impl MailService {
    /// A service for `listeners`.
    pub fn new(listeners: Vec<MailListener>, ctx: Arc<MailContext>) -> MailService {
        MailService {
            listeners: Mutex::new(listeners),
            ctx,
        }
    }
}

#[async_trait]
impl BackgroundService for MailService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let listeners = std::mem::take(&mut *self.listeners.lock());
        let mut loops = tokio::task::JoinSet::new();
        for l in listeners {
            let listener = match tokio::net::TcpListener::from_std(l.listener) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(protocol = l.protocol.name(), "mail listener unusable: {e}");
                    continue;
                }
            };
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(
                    %addr,
                    protocol = l.protocol.name(),
                    tls = l.implicit_tls,
                    "mail listener ready"
                );
            }
            let ctx = self.ctx.clone();
            loops.spawn(accept_loop(
                listener,
                l.protocol,
                l.implicit_tls,
                l.tls,
                ctx,
            ));
        }
        let _ = shutdown.changed().await;
        loops.abort_all();
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    protocol: Protocol,
    implicit_tls: bool,
    tls: Option<Arc<rustls::ServerConfig>>,
    ctx: Arc<MailContext>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(protocol = protocol.name(), "accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let local = match tcp.local_addr() {
            Ok(a) => a,
            Err(_) => continue,
        };
        let _ = tcp.set_nodelay(true);
        let span = tracing::info_span!(
            "mail",
            protocol = protocol.name(),
            client = %peer,
            user = tracing::field::Empty
        );
        let ctx = ctx.clone();
        let tls = tls.clone();
        tokio::spawn(
            async move {
                let client = ClientInfo { peer, local };
                session(tcp, client, protocol, implicit_tls, tls, ctx).await;
            }
            .instrument(span),
        );
    }
}

async fn session(
    tcp: TcpStream,
    client: ClientInfo,
    protocol: Protocol,
    implicit_tls: bool,
    tls: Option<Arc<rustls::ServerConfig>>,
    ctx: Arc<MailContext>,
) {
    ctx.shared
        .metrics
        .mail_sessions
        .with_label_values(&[protocol.name()])
        .inc();
    let Some(slot) = ctx.preauth.acquire(client.peer.ip()) else {
        tracing::warn!(
            limit = ctx.cfg.max_preauth_per_ip,
            "too many connections without login from this address; closed"
        );
        if !implicit_tls {
            let line: &[u8] = match protocol {
                Protocol::Imap => b"* BYE Too many connections from your address\r\n",
                Protocol::Pop3 => b"-ERR [SYS/TEMP] Too many connections from your address\r\n",
            };
            let mut tcp = tcp;
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(1),
                tokio::io::AsyncWriteExt::write_all(&mut tcp, line),
            )
            .await;
        }
        return;
    };
    let mut stream = MailStream::Plain(tcp);
    if implicit_tls {
        let Some(cfg) = tls.clone() else {
            return;
        };
        stream = match crate::mail::stream::accept_tls(stream, cfg, ctx.cfg.command_timeout).await {
            Ok(s) => s,
            Err(e) => {
                let why = kc_certs::tls::handshake_error(&e)
                    .map_or_else(|| e.to_string(), |t| t.to_string());
                tracing::debug!("TLS handshake failed: {why}");
                return;
            }
        };
        ctx.shared.metrics.tls_handshakes.inc();
    }
    let s = Session {
        ctx: ctx.clone(),
        client,
        protocol,
        tls,
        bad: 0,
        span_user: None,
        preauth: Some(slot),
        deadline: Instant::now() + ctx.cfg.preauth_limit,
    };
    let result = match protocol {
        Protocol::Imap => s.imap(stream).await,
        Protocol::Pop3 => s.pop3(stream).await,
    };
    match result {
        Ok(()) => tracing::debug!("connection closed"),
        Err(e) => tracing::debug!("connection ended: {e}"),
    }
}

/// How a login attempt ended, as the client is told.
enum Attempt {
    /// Relay from here on.
    LoggedIn(Box<LoggedIn>),
    /// Wrong credentials or unknown user (counted by the throttle).
    Failed,
    /// Too many failures: refused without asking the node.
    Refused,
    /// Directory or node trouble.
    Unavailable,
}

/// Why no node could be picked.
enum RouteError {
    UnknownUser,
    Unavailable(String),
}

struct Session {
    ctx: Arc<MailContext>,
    client: ClientInfo,
    /// Held until the login succeeds (the relay does not count).
    preauth: Option<super::preauth::PreauthSlot>,
    protocol: Protocol,
    tls: Option<Arc<rustls::ServerConfig>>,
    bad: u32,
    // The user name last put into the span (fields append when re-recorded).
    span_user: Option<String>,
    // End of the time allowed before login.
    deadline: Instant,
}

/// Outcome of a pre-login read.
enum Input<T> {
    Got(T),
    /// Closed by the client, or idle for too long (already answered).
    Gone,
}

impl Session {
    fn plaintext_ok(&self, stream: &MailStream) -> bool {
        stream.is_tls() || self.ctx.cfg.plaintext_auth
    }

    fn starttls_available(&self) -> bool {
        self.tls.is_some()
    }

    /// Counts an invalid command; `true` when the client has used up its allowance.
    fn too_many_bad(&mut self) -> bool {
        self.bad += 1;
        self.bad >= self.ctx.cfg.max_bad_commands
    }

    /// Reads more client bytes within the command timeout and the time
    /// allowed before login.
    async fn fill(&self, stream: &mut MailStream, idle_bye: &[u8]) -> io::Result<Option<Vec<u8>>> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match read_some(stream, self.ctx.cfg.command_timeout.min(left)).await {
            Ok(Some(d)) => Ok(Some(d)),
            Ok(None) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                let _ = send(stream, idle_bye).await;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn route(&self, user: &str) -> Result<(Target, String), RouteError> {
        let shared = &self.ctx.shared;
        let home = match &shared.home {
            Some(h) => match h.home_server(user).await {
                Ok(n) => n,
                Err(LookupError::UnknownUser) => return Err(RouteError::UnknownUser),
                Err(LookupError::Unavailable(e)) => return Err(RouteError::Unavailable(e)),
            },
            None => None,
        };
        let table = shared.nodes.load();
        let node = match &home {
            Some(name) => table.by_name(name).cloned().ok_or_else(|| {
                RouteError::Unavailable(format!("home node '{name}' is not in the node table"))
            })?,
            // Single-node set-ups and users without a home: the default node.
            None => table
                .default_node()
                .cloned()
                .ok_or_else(|| RouteError::Unavailable("no default node".into()))?,
        };
        let cfg = &self.ctx.cfg;
        let port = match self.protocol {
            Protocol::Imap => cfg.node_imap_port,
            Protocol::Pop3 => cfg.node_pop3_port,
        };
        let addr = shared
            .resolver
            .resolve(&node.host, port)
            .await
            .map_err(|e| RouteError::Unavailable(e.to_string()))?;
        Ok((
            Target {
                addr,
                host: node.host.clone(),
                mode: cfg.upstream_tls,
                tls: self.ctx.upstream_tls.clone(),
                connect_timeout: cfg.connect_timeout,
                reply_timeout: cfg.login_timeout,
            },
            node.name.clone(),
        ))
    }

    fn count(&self, result: &str) {
        self.ctx
            .shared
            .metrics
            .mail_logins
            .with_label_values(&[self.protocol.name(), result])
            .inc();
    }

    fn record_failure(&self, user: &str) {
        let failures =
            self.ctx
                .throttle
                .lock()
                .failure(self.client.peer.ip(), user, Instant::now());
        tracing::info!(failures, "login failed");
        self.count("failed");
    }

    /// Throttle, route, log in at the node.
    async fn attempt(&mut self, creds: &Credentials) -> Attempt {
        if self.span_user.as_deref() != Some(creds.user.as_str()) {
            tracing::Span::current().record("user", creds.user.as_str());
            self.span_user = Some(creds.user.clone());
        }
        let ip = self.client.peer.ip();
        let (verdict, failures) = {
            let mut t = self.ctx.throttle.lock();
            let now = Instant::now();
            (
                t.check(ip, &creds.user, now),
                t.failures(ip, &creds.user, now),
            )
        };
        match verdict {
            Verdict::Refuse => {
                tracing::warn!(failures, "login refused: too many failed logins");
                self.count("refused");
                return Attempt::Refused;
            }
            Verdict::Proceed(delay) if !delay.is_zero() => {
                tracing::info!(
                    failures,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "login delayed after failed logins"
                );
                self.ctx.shared.metrics.mail_login_delays.inc();
                tokio::time::sleep(delay).await;
            }
            Verdict::Proceed(_) => {}
        }
        let (target, node) = match self.route(&creds.user).await {
            Ok(t) => t,
            Err(RouteError::UnknownUser) => {
                self.record_failure(&creds.user);
                return Attempt::Failed;
            }
            Err(RouteError::Unavailable(e)) => {
                tracing::warn!("no route to the user's node: {e}");
                self.count("unavailable");
                return Attempt::Unavailable;
            }
        };
        let outcome = match self.protocol {
            Protocol::Imap => upstream::imap_login(&target, &self.client, creds).await,
            Protocol::Pop3 => upstream::pop3_login(&target, &self.client, creds).await,
        };
        match outcome {
            Ok(Outcome::LoggedIn(l)) => {
                self.ctx.throttle.lock().success(ip, &creds.user);
                tracing::info!(node, upstream = %target.addr, "logged in");
                self.count("ok");
                Attempt::LoggedIn(Box::new(l))
            }
            Ok(Outcome::Rejected {
                temporary: false,
                text,
            }) => {
                tracing::debug!(node, "node refused the login: {text}");
                self.record_failure(&creds.user);
                Attempt::Failed
            }
            Ok(Outcome::Rejected {
                temporary: true,
                text,
            }) => {
                tracing::warn!(node, "node cannot serve the login now: {text}");
                self.count("unavailable");
                Attempt::Unavailable
            }
            Err(e) => {
                tracing::warn!(node, upstream = %target.addr, "node unavailable: {e}");
                self.count("unavailable");
                Attempt::Unavailable
            }
        }
    }

    // ------------------------------------------------------------ IMAP

    fn imap_capabilities(&self, stream: &MailStream) -> String {
        imap_preauth::pre_login_capabilities(
            stream.is_tls(),
            self.starttls_available(),
            self.ctx.cfg.plaintext_auth,
        )
    }

    /// Reads the next framed event, `Gone` when the client left.
    async fn imap_event(
        &self,
        stream: &mut MailStream,
        asm: &mut Assembler,
    ) -> io::Result<Input<Event>> {
        loop {
            if let Some(e) = asm.next_event() {
                return Ok(Input::Got(e));
            }
            match self.fill(stream, b"* BYE Idle for too long.\r\n").await? {
                Some(d) => asm.feed(&d),
                None => return Ok(Input::Gone),
            }
        }
    }

    /// Reads one SASL continuation line.
    async fn imap_sasl_line(
        &self,
        stream: &mut MailStream,
        asm: &mut Assembler,
    ) -> io::Result<Input<Line>> {
        loop {
            if let Some(l) = asm.next_line() {
                return Ok(Input::Got(l));
            }
            match self.fill(stream, b"* BYE Idle for too long.\r\n").await? {
                Some(d) => asm.feed(&d),
                None => return Ok(Input::Gone),
            }
        }
    }

    async fn imap(mut self, mut stream: MailStream) -> io::Result<()> {
        let mut asm = Assembler::new(self.ctx.cfg.imap_limits);
        let greeting = format!(
            "* OK [CAPABILITY {}] kc-proxy ready.\r\n",
            self.imap_capabilities(&stream)
        );
        send(&mut stream, greeting.as_bytes()).await?;
        loop {
            let Input::Got(event) = self.imap_event(&mut stream, &mut asm).await? else {
                return Ok(());
            };
            let parts = match event {
                Event::Command(parts) => parts,
                Event::Continue => {
                    send(&mut stream, b"+ OK\r\n").await?;
                    continue;
                }
                Event::Fatal(message) => {
                    send(&mut stream, format!("* BYE {message}\r\n").as_bytes()).await?;
                    return Ok(());
                }
                Event::Bad { tag, message } => {
                    if self.imap_bad(&mut stream, tag.as_deref(), message).await? {
                        return Ok(());
                    }
                    continue;
                }
            };
            let req = match imap_preauth::parse(&parts) {
                Ok(r) => r,
                Err(e) => {
                    if self
                        .imap_bad(&mut stream, e.tag.as_deref(), e.message)
                        .await?
                    {
                        return Ok(());
                    }
                    continue;
                }
            };
            let tag = req.tag;
            let creds = match req.command {
                Command::Capability => {
                    let reply = format!(
                        "* CAPABILITY {}\r\n{tag} OK Capability completed.\r\n",
                        self.imap_capabilities(&stream)
                    );
                    send(&mut stream, reply.as_bytes()).await?;
                    continue;
                }
                Command::Noop => {
                    send(
                        &mut stream,
                        format!("{tag} OK NOOP completed.\r\n").as_bytes(),
                    )
                    .await?;
                    continue;
                }
                Command::Logout => {
                    let reply = format!("* BYE Logging out.\r\n{tag} OK Logout completed.\r\n");
                    send(&mut stream, reply.as_bytes()).await?;
                    return Ok(());
                }
                Command::Id(fields) => {
                    tracing::debug!(?fields, "client ID");
                    let reply =
                        format!("* ID (\"name\" \"kc-proxy\")\r\n{tag} OK ID completed.\r\n");
                    send(&mut stream, reply.as_bytes()).await?;
                    continue;
                }
                Command::StartTls => {
                    let Some(cfg) = self.tls.clone().filter(|_| !stream.is_tls()) else {
                        if self
                            .imap_bad(
                                &mut stream,
                                Some(&tag),
                                "TLS is already active or not available",
                            )
                            .await?
                        {
                            return Ok(());
                        }
                        continue;
                    };
                    send(
                        &mut stream,
                        format!("{tag} OK Begin TLS negotiation now.\r\n").as_bytes(),
                    )
                    .await?;
                    // Anything pipelined behind STARTTLS was sent in the clear.
                    asm.clear();
                    stream =
                        crate::mail::stream::accept_tls(stream, cfg, self.ctx.cfg.command_timeout)
                            .await?;
                    self.ctx.shared.metrics.tls_handshakes.inc();
                    continue;
                }
                Command::NeedsLogin(name) => {
                    let msg = format!("{name} is not valid before login");
                    if self.too_many_bad() {
                        send(&mut stream, b"* BYE Too many invalid commands.\r\n").await?;
                        return Ok(());
                    }
                    send(&mut stream, format!("{tag} BAD {msg}.\r\n").as_bytes()).await?;
                    continue;
                }
                Command::Login(creds) => {
                    if !self.plaintext_ok(&stream) {
                        self.imap_privacy(&mut stream, &tag).await?;
                        continue;
                    }
                    creds
                }
                Command::Authenticate { mechanism, initial } => {
                    if mechanism != "PLAIN" {
                        let reply = format!("{tag} NO Unsupported authentication mechanism.\r\n");
                        send(&mut stream, reply.as_bytes()).await?;
                        continue;
                    }
                    if !self.plaintext_ok(&stream) {
                        self.imap_privacy(&mut stream, &tag).await?;
                        continue;
                    }
                    let response = match initial {
                        Some(ir) => ir,
                        None => {
                            send(&mut stream, b"+ \r\n").await?;
                            match self.imap_sasl_line(&mut stream, &mut asm).await? {
                                Input::Gone => return Ok(()),
                                Input::Got(Line::TooLong) => {
                                    let reply = format!("{tag} BAD Response too long.\r\n");
                                    send(&mut stream, reply.as_bytes()).await?;
                                    continue;
                                }
                                Input::Got(Line::Line(l)) => l,
                            }
                        }
                    };
                    if response == b"*" {
                        let reply = format!("{tag} BAD Authentication cancelled.\r\n");
                        send(&mut stream, reply.as_bytes()).await?;
                        continue;
                    }
                    match decode_plain(&response) {
                        Ok(c) => c,
                        Err(SaslError::Authzid) => {
                            let reply = format!(
                                "{tag} NO [AUTHORIZATIONFAILED] Proxy authorization is not supported.\r\n"
                            );
                            send(&mut stream, reply.as_bytes()).await?;
                            continue;
                        }
                        Err(e) => {
                            if self
                                .imap_bad(
                                    &mut stream,
                                    Some(&tag),
                                    &format!("Invalid PLAIN response: {e}"),
                                )
                                .await?
                            {
                                return Ok(());
                            }
                            continue;
                        }
                    }
                }
            };
            match self.attempt(&creds).await {
                Attempt::LoggedIn(l) => {
                    let LoggedIn {
                        conn,
                        capability,
                        untagged,
                    } = *l;
                    let caps = capability.unwrap_or_else(|| imap_preauth::POST_LOGIN.to_string());
                    let mut out = Vec::new();
                    for u in untagged {
                        out.extend_from_slice(&u);
                        out.extend_from_slice(b"\r\n");
                    }
                    out.extend_from_slice(
                        format!("{tag} OK [CAPABILITY {caps}] Logged in\r\n").as_bytes(),
                    );
                    send(&mut stream, &out).await?;
                    self.preauth.take();
                    return relay(stream, conn, asm.take_buffered()).await;
                }
                Attempt::Failed => {
                    let reply =
                        format!("{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
                    send(&mut stream, reply.as_bytes()).await?;
                }
                Attempt::Refused => {
                    let reply =
                        format!("{tag} NO [LIMIT] Too many failed logins, try again later.\r\n");
                    send(&mut stream, reply.as_bytes()).await?;
                }
                Attempt::Unavailable => {
                    let reply = format!(
                        "{tag} NO [UNAVAILABLE] Mail server temporarily unavailable, try again later.\r\n"
                    );
                    send(&mut stream, reply.as_bytes()).await?;
                }
            }
        }
    }

    /// Answers `BAD`; `true` when the connection is to be closed.
    async fn imap_bad(
        &mut self,
        stream: &mut MailStream,
        tag: Option<&str>,
        message: &str,
    ) -> io::Result<bool> {
        if self.too_many_bad() {
            send(stream, b"* BYE Too many invalid commands.\r\n").await?;
            return Ok(true);
        }
        let reply = format!("{} BAD {message}.\r\n", tag.unwrap_or("*"));
        send(stream, reply.as_bytes()).await?;
        Ok(false)
    }

    async fn imap_privacy(&self, stream: &mut MailStream, tag: &str) -> io::Result<()> {
        let reply = format!(
            "{tag} NO [PRIVACYREQUIRED] Plaintext authentication is disabled, use STARTTLS.\r\n"
        );
        send(stream, reply.as_bytes()).await
    }

    // ------------------------------------------------------------ POP3

    async fn pop3_line(
        &self,
        stream: &mut MailStream,
        lines: &mut LineReader,
    ) -> io::Result<Input<Line>> {
        loop {
            if let Some(l) = lines.next_line() {
                return Ok(Input::Got(l));
            }
            match self.fill(stream, b"-ERR Idle for too long.\r\n").await? {
                Some(d) => lines.feed(&d),
                None => return Ok(Input::Gone),
            }
        }
    }

    /// Answers `-ERR`; `true` when the connection is to be closed.
    async fn pop3_err(&mut self, stream: &mut MailStream, message: &str) -> io::Result<bool> {
        if self.too_many_bad() {
            send(stream, b"-ERR Too many invalid commands.\r\n").await?;
            return Ok(true);
        }
        send(stream, format!("-ERR {message}\r\n").as_bytes()).await?;
        Ok(false)
    }

    async fn pop3(mut self, mut stream: MailStream) -> io::Result<()> {
        let mut lines = LineReader::new(pop3_preauth::MAX_LINE);
        let mut user: Option<String> = None;
        send(&mut stream, b"+OK kc-proxy ready.\r\n").await?;
        loop {
            let line = match self.pop3_line(&mut stream, &mut lines).await? {
                Input::Gone => return Ok(()),
                Input::Got(Line::TooLong) => {
                    if self.pop3_err(&mut stream, "Line too long.").await? {
                        return Ok(());
                    }
                    continue;
                }
                Input::Got(Line::Line(l)) => l,
            };
            let cmd = match pop3_preauth::parse_command(&line) {
                Ok(c) => c,
                Err(e) => {
                    if self.pop3_err(&mut stream, &format!("{e}.")).await? {
                        return Ok(());
                    }
                    continue;
                }
            };
            let plaintext_ok = self.plaintext_ok(&stream);
            let creds = match cmd {
                Pop3Command::Capa => {
                    let mut reply = b"+OK Capability list follows\r\n".to_vec();
                    for c in pop3_preauth::capabilities(
                        stream.is_tls(),
                        self.starttls_available(),
                        self.ctx.cfg.plaintext_auth,
                    ) {
                        reply.extend_from_slice(c.as_bytes());
                        reply.extend_from_slice(b"\r\n");
                    }
                    reply.extend_from_slice(b".\r\n");
                    send(&mut stream, &reply).await?;
                    continue;
                }
                Pop3Command::Stls => {
                    let Some(cfg) = self.tls.clone().filter(|_| !stream.is_tls()) else {
                        if self
                            .pop3_err(&mut stream, "TLS is already active or not available.")
                            .await?
                        {
                            return Ok(());
                        }
                        continue;
                    };
                    send(&mut stream, b"+OK Begin TLS negotiation now.\r\n").await?;
                    lines.clear();
                    user = None;
                    stream =
                        crate::mail::stream::accept_tls(stream, cfg, self.ctx.cfg.command_timeout)
                            .await?;
                    self.ctx.shared.metrics.tls_handshakes.inc();
                    continue;
                }
                Pop3Command::Quit => {
                    send(&mut stream, b"+OK Logging out.\r\n").await?;
                    return Ok(());
                }
                Pop3Command::NeedsLogin(_) => {
                    if self.pop3_err(&mut stream, "Log in first.").await? {
                        return Ok(());
                    }
                    continue;
                }
                Pop3Command::User(_) | Pop3Command::Pass(_) | Pop3Command::Auth { .. }
                    if !plaintext_ok =>
                {
                    send(
                        &mut stream,
                        b"-ERR [AUTH] Plaintext authentication is disabled, use STLS.\r\n",
                    )
                    .await?;
                    continue;
                }
                Pop3Command::User(u) => {
                    user = Some(u);
                    send(&mut stream, b"+OK\r\n").await?;
                    continue;
                }
                Pop3Command::Pass(password) => {
                    let Some(u) = user.take() else {
                        if self.pop3_err(&mut stream, "USER first.").await? {
                            return Ok(());
                        }
                        continue;
                    };
                    Credentials { user: u, password }
                }
                Pop3Command::Auth {
                    mechanism: None, ..
                } => {
                    send(&mut stream, b"+OK\r\nPLAIN\r\n.\r\n").await?;
                    continue;
                }
                Pop3Command::Auth {
                    mechanism: Some(m),
                    initial,
                } => {
                    if m != "PLAIN" {
                        send(
                            &mut stream,
                            b"-ERR Unsupported authentication mechanism.\r\n",
                        )
                        .await?;
                        continue;
                    }
                    let response = match initial {
                        Some(ir) => ir,
                        None => {
                            send(&mut stream, b"+ \r\n").await?;
                            match self.pop3_line(&mut stream, &mut lines).await? {
                                Input::Gone => return Ok(()),
                                Input::Got(Line::TooLong) => {
                                    send(&mut stream, b"-ERR Response too long.\r\n").await?;
                                    continue;
                                }
                                Input::Got(Line::Line(l)) => l,
                            }
                        }
                    };
                    if response == b"*" {
                        send(&mut stream, b"-ERR Authentication cancelled.\r\n").await?;
                        continue;
                    }
                    match decode_plain(&response) {
                        Ok(c) => c,
                        Err(e) => {
                            if self
                                .pop3_err(&mut stream, &format!("Invalid PLAIN response: {e}."))
                                .await?
                            {
                                return Ok(());
                            }
                            continue;
                        }
                    }
                }
            };
            match self.attempt(&creds).await {
                Attempt::LoggedIn(l) => {
                    send(&mut stream, b"+OK Logged in.\r\n").await?;
                    self.preauth.take();
                    return relay(stream, l.conn, lines.take_all()).await;
                }
                Attempt::Failed => {
                    send(&mut stream, b"-ERR [AUTH] Authentication failed.\r\n").await?;
                }
                Attempt::Refused => {
                    send(
                        &mut stream,
                        b"-ERR [LOGIN-DELAY] Too many failed logins, try again later.\r\n",
                    )
                    .await?;
                }
                Attempt::Unavailable => {
                    send(
                        &mut stream,
                        b"-ERR [SYS/TEMP] Mail server temporarily unavailable, try again later.\r\n",
                    )
                    .await?;
                }
            }
        }
    }
}

/// Hands over pending bytes in both directions, then copies until either
/// side closes.
async fn relay(mut client: MailStream, node: LineConn, client_pending: Vec<u8>) -> io::Result<()> {
    let LineConn {
        stream: mut node_stream,
        mut reader,
        ..
    } = node;
    let node_pending = reader.take_all();
    if !node_pending.is_empty() {
        send(&mut client, &node_pending).await?;
    }
    if !client_pending.is_empty() {
        send(&mut node_stream, &client_pending).await?;
    }
    let (up, down) = tokio::io::copy_bidirectional(&mut client, &mut node_stream).await?;
    tracing::debug!(bytes_to_node = up, bytes_to_client = down, "relay finished");
    Ok(())
}
