//! One IMAP connection: the state machine (not authenticated →
//! authenticated → selected) on top of the pure protocol layer, talking to
//! the store through `kc_store_api::client`.
//!
//! ```text
//! socket ─► Io (Receiver) ─► parse_command ─► dispatch ─► handlers ─► Io.out ─► socket
//!                                              │              └ store calls (StoreSession)
//!                                              └ after a command: pending EXISTS/EXPUNGE/FETCH
//!                                                (hinted by notify::Watch, read from `changes`)
//! ```
//!
//! Submodules hold the command groups: [`mailboxes`] (SELECT, LIST,
//! CREATE, ...), [`fetch`], [`search`], [`messages`] (STORE, COPY, MOVE,
//! EXPUNGE, APPEND), [`idle`] (IDLE), [`authenticate`] (AUTHENTICATE) and
//! [`starttls`] (STARTTLS); [`selected`] is the mailbox cache, [`folders`]
//! the store's folder tree as the IMAP hierarchy, [`subscriptions`] the
//! LSUB state.

mod authenticate;
mod fetch;
pub(crate) mod folders;
mod idle;
mod io;
mod mailboxes;
mod messages;
mod recent;
mod search;
pub(crate) mod selected;
mod starttls;
pub(crate) mod subscriptions;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use kc_store_api::client::{ClientError, Session as StoreSession};

use crate::context::GatewayContext;
use crate::imap::notify::{self, Watch};
use crate::imap::parser::{invalid_name_answer, parse_command, InvalidNameAnswer, ParseErrorKind};
use crate::imap::protocol::{Command, Request};
use crate::imap::receiver::{Event, Limits, ReceiverErrorKind};
use crate::imap::response::{Data, ResponseCode, Status, StatusResponse};
use crate::net::Conn;
use folders::Tree;
use io::{Io, Read};
use kc_mail_proto::capability::{imap_capabilities, CapabilityState};
use selected::Selected;
use subscriptions::Subscriptions;

/// Time a client may stay silent before logging in.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);
/// RFC 3501 §5.4 autologout: at least 30 minutes once authenticated.
const AUTOLOGOUT: Duration = Duration::from_secs(31 * 60);
/// Quiet time after which an idle session pings the node, well inside
/// KC's smallest `session_timeout` (300 s).
const KEEPALIVE: Duration = Duration::from_secs(120);
/// The `client_app` the node logs for our logons.
const CLIENT_APP: &str = "kc-gateway/imap";

/// Behaviour options read from the gateway settings at connection start.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub only_mailfolders: bool,
    pub capability_idle: bool,
    pub ignore_command_idle: bool,
    pub max_fail_commands: u32,
    pub max_messagesize: u64,
    pub expunge_on_delete: bool,
}

impl Config {
    fn from_ctx(ctx: &GatewayContext) -> Config {
        let s = ctx.settings();
        Config {
            only_mailfolders: s.imap_only_mailfolders,
            capability_idle: s.imap_capability_idle,
            ignore_command_idle: s.imap_ignore_command_idle,
            max_fail_commands: s.imap_max_fail_commands,
            max_messagesize: s.imap_max_messagesize,
            expunge_on_delete: s.imap_expunge_on_delete,
        }
    }
}

/// A successful command: the optional code and text of the tagged OK.
pub(crate) struct Done {
    code: Option<ResponseCode>,
    text: String,
}

impl Done {
    fn ok() -> Done {
        Done {
            code: None,
            text: String::new(),
        }
    }
}

/// A failed command.
pub(crate) enum Fail {
    Bad(String),
    No(Option<ResponseCode>, String),
    Store(ClientError),
}

impl From<ClientError> for Fail {
    fn from(e: ClientError) -> Self {
        Fail::Store(e)
    }
}

fn no(code: Option<ResponseCode>, text: impl Into<String>) -> Fail {
    Fail::No(code, text.into())
}

type CmdResult = Result<Done, Fail>;

/// What the connection loop does next.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// The authenticated part of a session.
pub(crate) struct Auth {
    store: StoreSession,
}

/// One parsed message kept for the next FETCH of the same message.
pub(crate) struct CachedMsg {
    folder: i64,
    uid_validity: u32,
    uid: u32,
    data: Arc<Vec<u8>>,
}

pub(crate) struct Session {
    ctx: Arc<GatewayContext>,
    peer: SocketAddr,
    originating: IpAddr,
    cfg: Config,
    io: Io,
    tls: bool,
    auth: Option<Auth>,
    selected: Option<Selected>,
    tree: Option<Tree>,
    subs: Option<Subscriptions>,
    watch: Option<Arc<Watch>>,
    /// CONDSTORE enabled (ENABLE, SELECT (CONDSTORE), FETCH MODSEQ, ...).
    condstore: bool,
    /// QRESYNC enabled (ENABLE QRESYNC; implies CONDSTORE).
    qresync: bool,
    /// Consecutive failed commands.
    fails: u32,
    /// The selected mailbox changed by our own command (APPEND/COPY into
    /// it): read the change feed before the tagged reply.
    force_refresh: bool,
    cached: Option<CachedMsg>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    /// The connection's span (fields `user`, `client` are filled in later).
    span: tracing::Span,
}

impl Session {
    pub(crate) fn new(conn: Conn, peer: SocketAddr, ctx: Arc<GatewayContext>) -> Session {
        let cfg = Config::from_ctx(&ctx);
        let tls = conn.is_tls();
        let shutdown = ctx.shutdown.clone();
        Session {
            originating: peer.ip(),
            peer,
            cfg,
            io: Io::new(conn, Limits::unauthenticated()),
            tls,
            auth: None,
            selected: None,
            tree: None,
            subs: None,
            watch: None,
            condstore: false,
            qresync: false,
            fails: 0,
            force_refresh: false,
            cached: None,
            shutdown,
            span: tracing::Span::current(),
            ctx,
        }
    }

    fn cap_state(&self) -> CapabilityState {
        CapabilityState {
            authenticated: self.auth.is_some(),
            tls_active: self.tls,
            starttls_available: self.ctx.tls.is_some(),
            plaintext_auth_allowed: self.plaintext_allowed(),
            idle: self.cfg.capability_idle,
            extensions_before_login: false,
        }
    }

    fn caps(&self) -> Vec<String> {
        imap_capabilities(self.cap_state())
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// KC's rule (see `GatewayContext::plaintext_auth_allowed`): without
    /// TLS, passwords only when allowed, from the local host or an edge.
    fn plaintext_allowed(&self) -> bool {
        self.ctx.plaintext_auth_allowed(self.tls, self.peer.ip())
    }

    fn untagged(&mut self, status: Status, code: Option<ResponseCode>, text: &str) {
        let mut r = StatusResponse::untagged(status, text);
        r.code = code;
        r.serialize(&mut self.io.out);
    }

    /// Serves the connection until LOGOUT, EOF, timeout or shutdown.
    pub(crate) async fn run(mut self) {
        let mut greeting = StatusResponse::untagged(Status::Ok, self.greeting_text());
        greeting.code = Some(ResponseCode::Capability(self.caps()));
        greeting.serialize(&mut self.io.out);
        if self.io.flush().await.is_err() {
            return;
        }
        let result = self.serve().await;
        if let Err(e) = result {
            tracing::debug!(error = %e, "connection ended");
        }
        if let Some(a) = self.auth.take() {
            a.store.logoff().await;
        }
    }

    fn greeting_text(&self) -> String {
        self.ctx.greeting("IMAP")
    }

    async fn serve(&mut self) -> std::io::Result<()> {
        let mut shutdown = self.shutdown.clone();
        loop {
            while let Some(ev) = self.io.rx.next_event() {
                let flow = match ev {
                    Event::Continue => {
                        self.io
                            .out
                            .extend_from_slice(b"+ Ready for literal data\r\n");
                        Flow::Continue
                    }
                    Event::Error(e) => {
                        let text = e.kind.to_string();
                        let huge = matches!(
                            e.kind,
                            ReceiverErrorKind::LiteralTooBig { size } if size.is_none_or(|s| s > u64::from(u32::MAX))
                        );
                        let (status, code) = if e.is_too_big() && !huge {
                            (Status::No, Some(ResponseCode::TooBig))
                        } else if e.is_too_big() {
                            (Status::Bad, Some(ResponseCode::TooBig))
                        } else {
                            (Status::Bad, None)
                        };
                        let mut r = match e.tag {
                            Some(t) => StatusResponse::tagged(t, status, text),
                            None => StatusResponse::untagged(status, text),
                        };
                        r.code = code;
                        r.serialize(&mut self.io.out);
                        if e.fatal {
                            self.untagged(
                                Status::Bye,
                                None,
                                "connection closed after oversized literal",
                            );
                            Flow::Close
                        } else {
                            self.count_failure()
                        }
                    }
                    Event::Command(raw) => match parse_command(&raw) {
                        Ok(req) => {
                            let span = tracing::debug_span!("cmd", tag = %req.tag, name = req.command.name());
                            tracing::Instrument::instrument(self.command(req), span).await?
                        }
                        Err(e) => {
                            let (status, code) = match e.kind {
                                ParseErrorKind::BadCharset => (
                                    Status::No,
                                    Some(ResponseCode::BadCharset(vec![
                                        "US-ASCII".into(),
                                        "UTF-8".into(),
                                    ])),
                                ),
                                ParseErrorKind::BadMailbox(_) if self.auth.is_some() => {
                                    match invalid_name_answer(&raw.bytes) {
                                        InvalidNameAnswer::EmptyList => (Status::Ok, None),
                                        InvalidNameAnswer::Cannot => {
                                            (Status::No, Some(ResponseCode::Cannot))
                                        }
                                        InvalidNameAnswer::NonExistent => {
                                            (Status::No, Some(ResponseCode::NonExistent))
                                        }
                                    }
                                }
                                _ => (Status::Bad, None),
                            };
                            let text = match status {
                                Status::Ok => "Completed, no such mailbox".to_string(),
                                _ => e.kind.to_string(),
                            };
                            let mut r = match e.tag {
                                Some(t) => StatusResponse::tagged(t, status, text),
                                None => StatusResponse::untagged(status, text),
                            };
                            r.code = code;
                            r.serialize(&mut self.io.out);
                            if status == Status::Ok {
                                Flow::Continue
                            } else {
                                self.count_failure()
                            }
                        }
                    },
                };
                self.io.flush_if_big().await?;
                if flow == Flow::Close {
                    return self.io.flush().await;
                }
            }
            self.io.flush().await?;
            let limit = if self.auth.is_some() {
                AUTOLOGOUT
            } else {
                LOGIN_TIMEOUT
            };
            let idle_since = tokio::time::Instant::now();
            loop {
                let slice = if self.auth.is_some() {
                    KEEPALIVE.min(limit.saturating_sub(idle_since.elapsed()))
                } else {
                    limit
                };
                let r = tokio::select! {
                    r = self.io.read(slice) => r,
                    _ = shutting_down(&mut shutdown) => {
                        self.untagged(Status::Bye, None, "Server shutting down");
                        return self.io.flush().await;
                    }
                };
                match r {
                    Ok(Read::Data) => break,
                    Ok(Read::Eof) => return Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                        if idle_since.elapsed() >= limit {
                            self.untagged(Status::Bye, None, "Autologout; idle for too long");
                            return self.io.flush().await;
                        }
                        if !self.keepalive().await {
                            self.session_lost();
                            return self.io.flush().await;
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }

    /// Keeps the node's session of an idle client alive (it expires after
    /// `session_timeout` without requests, like KC's MAPI keepalive pings).
    /// False when the store session is gone.
    async fn keepalive(&self) -> bool {
        let Some(auth) = self.auth.as_ref() else {
            return true;
        };
        match auth.store.changes(i64::MAX - 1, 1, None).await {
            Err(ClientError::Session) => false,
            Err(e) => {
                tracing::debug!(error = %e, "keepalive failed");
                true
            }
            Ok(_) => true,
        }
    }

    /// Counts a failed command; too many in a row end the connection.
    fn count_failure(&mut self) -> Flow {
        self.fails += 1;
        if self.cfg.max_fail_commands > 0 && self.fails >= self.cfg.max_fail_commands {
            self.untagged(Status::Bye, None, "Too many invalid commands");
            Flow::Close
        } else {
            Flow::Continue
        }
    }

    async fn command(&mut self, req: Request) -> std::io::Result<Flow> {
        let tag = req.tag.clone();
        let name = req.command.name();
        // EXPUNGE replies may not interrupt FETCH, STORE or SEARCH by
        // sequence number (RFC 3501 §7.4.1); the others may carry updates.
        let updates_ok = !matches!(
            req.command,
            Command::Fetch { uid: false, .. }
                | Command::Store { uid: false, .. }
                | Command::Search { uid: false, .. }
                | Command::Copy { uid: false, .. }
        );
        let forced = matches!(req.command, Command::Noop | Command::Check);
        // Other sessions may have created, renamed or deleted folders or
        // changed subscriptions: each command reads them afresh, once.
        self.tree = None;
        self.subs = None;
        let result = match req.command {
            Command::Logout => {
                self.untagged(Status::Bye, None, "Logging out");
                StatusResponse::tagged(tag, Status::Ok, "LOGOUT completed")
                    .serialize(&mut self.io.out);
                return Ok(Flow::Close);
            }
            Command::StartTls => return self.starttls(tag).await,
            Command::Authenticate {
                mechanism,
                initial_response,
            } => {
                self.authenticate(&tag, &mechanism, initial_response)
                    .await?
            }
            Command::Idle => return self.idle(tag).await,
            other => self.dispatch(other).await,
        };
        if self.selected.is_some() {
            // After FETCH, STORE or SEARCH by sequence number, other
            // sessions' flag changes and new messages are reported, their
            // expunges wait for the next command that may carry them.
            if let Err(Fail::Store(ClientError::Session)) =
                self.updates_with(forced, updates_ok).await
            {
                return Ok(self.session_lost());
            }
        }
        Ok(self.finish(tag, name, result))
    }

    /// Writes the tagged reply of a finished command.
    fn finish(&mut self, tag: String, name: &str, result: CmdResult) -> Flow {
        match result {
            Ok(done) => {
                self.fails = 0;
                let text = if done.text.is_empty() {
                    format!("{name} completed")
                } else {
                    done.text
                };
                let mut r = StatusResponse::tagged(tag, Status::Ok, text);
                r.code = done.code;
                r.serialize(&mut self.io.out);
                Flow::Continue
            }
            Err(Fail::Bad(text)) => {
                StatusResponse::tagged(tag, Status::Bad, text).serialize(&mut self.io.out);
                self.count_failure()
            }
            Err(Fail::No(code, text)) => {
                let mut r = StatusResponse::tagged(tag, Status::No, text);
                r.code = code;
                r.serialize(&mut self.io.out);
                self.count_failure()
            }
            Err(Fail::Store(ClientError::Session)) => self.session_lost(),
            Err(Fail::Store(e)) => {
                let (code, text) = store_error(&e);
                tracing::debug!(error = %e, "{name} failed");
                let mut r = StatusResponse::tagged(tag, Status::No, text);
                r.code = Some(code);
                r.serialize(&mut self.io.out);
                self.count_failure()
            }
        }
    }

    fn session_lost(&mut self) -> Flow {
        self.untagged(
            Status::Bye,
            Some(ResponseCode::Unavailable),
            "Store session ended; please log in again",
        );
        Flow::Close
    }

    /// Sends pending updates of the selected mailbox: always when `force`
    /// (NOOP, CHECK, IDLE), else only when the watcher saw newer changes.
    async fn updates(&mut self, force: bool) -> Result<(), Fail> {
        self.updates_with(force, true).await
    }

    /// As [`Session::updates`]; `expunges`: EXPUNGE replies may be sent now
    /// (else they are held back, RFC 3501 §7.4.1).
    async fn updates_with(&mut self, force: bool, expunges: bool) -> Result<(), Fail> {
        let force = force || std::mem::take(&mut self.force_refresh);
        if self.watch.as_ref().is_some_and(|w| w.is_closed()) {
            // The watcher's store session ended (its owner logged out).
            self.ensure_watch();
        }
        let (Some(sel), Some(auth)) = (self.selected.as_mut(), self.auth.as_ref()) else {
            return Ok(());
        };
        let hinted = self
            .watch
            .as_ref()
            .is_some_and(|w| w.latest() > sel.seen_change);
        let held_back = expunges && !sel.pending_expunge.is_empty();
        if !(force || hinted || held_back) {
            return Ok(());
        }
        match sel
            .refresh(&auth.store, self.condstore, expunges, &mut self.io.out)
            .await
        {
            Ok(()) => Ok(()),
            Err(ClientError::Session) => Err(Fail::Store(ClientError::Session)),
            Err(e) => {
                // Updates are best effort; the next command retries.
                tracing::debug!(error = %e, "mailbox refresh failed");
                Ok(())
            }
        }
    }

    /// Makes sure a change watcher runs for the user (after SELECT).
    fn ensure_watch(&mut self) {
        let (Some(auth), Some(sel)) = (self.auth.as_ref(), self.selected.as_ref()) else {
            return;
        };
        if self.watch.as_ref().is_none_or(|w| w.is_closed()) {
            self.watch = Some(notify::subscribe(&auth.store, sel.seen_change));
        }
    }

    async fn dispatch(&mut self, cmd: Command) -> CmdResult {
        match cmd {
            Command::Capability => {
                Data::Capability(self.caps()).serialize(&mut self.io.out);
                Ok(Done::ok())
            }
            Command::Noop | Command::Check => {
                if matches!(cmd, Command::Check) {
                    self.require_selected()?;
                }
                Ok(Done::ok())
            }
            Command::Id(params) => self.id(params),
            Command::Login { username, password } => {
                if self.auth.is_some() {
                    return Err(Fail::Bad("already authenticated".into()));
                }
                let user = String::from_utf8_lossy(&username).into_owned();
                let pass = String::from_utf8_lossy(&password).into_owned();
                self.login(&user, &pass).await
            }
            Command::Enable(caps) => {
                self.require_auth()?;
                let mut enabled = Vec::new();
                for c in caps {
                    match c.as_str() {
                        "CONDSTORE" => self.condstore = true,
                        "QRESYNC" => {
                            self.condstore = true;
                            self.qresync = true;
                            if let Some(sel) = self.selected.as_mut() {
                                sel.vanished = true;
                            }
                        }
                        _ => continue,
                    }
                    if !enabled.contains(&c) {
                        enabled.push(c);
                    }
                }
                Data::Enabled(enabled).serialize(&mut self.io.out);
                Ok(Done::ok())
            }
            Command::Namespace => {
                self.require_auth()?;
                Data::Namespace {
                    personal: vec![crate::imap::response::NamespaceEntry {
                        prefix: String::new(),
                        delimiter: Some(folders::DELIM),
                    }],
                    other: vec![],
                    shared: vec![],
                }
                .serialize(&mut self.io.out);
                Ok(Done::ok())
            }
            Command::Select { mailbox, params } => self.select(mailbox, params, false).await,
            Command::Examine { mailbox, params } => self.select(mailbox, params, true).await,
            Command::Create { mailbox } => self.create(mailbox).await,
            Command::Delete { mailbox } => self.delete(mailbox).await,
            Command::Rename { from, to } => self.rename(from, to).await,
            Command::Subscribe { mailbox } => self.subscribe(mailbox, true).await,
            Command::Unsubscribe { mailbox } => self.subscribe(mailbox, false).await,
            Command::List(args) => self.list(args).await,
            Command::Lsub { reference, pattern } => self.lsub(&reference, &pattern).await,
            Command::Status { mailbox, items } => self.status(mailbox, items).await,
            Command::Append {
                mailbox,
                flags,
                date,
                message,
            } => self.append(mailbox, flags, date, message).await,
            Command::Close => self.close(true).await,
            Command::Unselect => self.close(false).await,
            Command::Expunge => self.expunge(None).await,
            Command::UidExpunge(set) => self.expunge(Some(set)).await,
            Command::Search {
                uid,
                charset: _,
                criteria,
            } => self.search(uid, criteria).await,
            Command::Fetch {
                uid,
                set,
                attrs,
                changed_since,
                vanished,
            } => self.fetch(uid, set, attrs, changed_since, vanished).await,
            Command::Store {
                uid,
                set,
                unchanged_since,
                op,
                silent,
                flags,
            } => {
                self.store(uid, set, unchanged_since, op, silent, flags)
                    .await
            }
            Command::Copy { uid, set, mailbox } => self.copy(uid, set, mailbox, false).await,
            Command::Move { uid, set, mailbox } => self.copy(uid, set, mailbox, true).await,
            _ => Err(Fail::Bad("command not valid here".into())),
        }
    }

    fn require_auth(&self) -> Result<&Auth, Fail> {
        self.auth
            .as_ref()
            .ok_or_else(|| Fail::Bad("not authenticated".into()))
    }

    fn require_selected(&self) -> Result<(), Fail> {
        self.require_auth()?;
        if self.selected.is_none() {
            return Err(Fail::Bad("no mailbox selected".into()));
        }
        Ok(())
    }

    fn id(&mut self, params: Option<Vec<(String, Option<String>)>>) -> CmdResult {
        if let Some(list) = &params {
            if let Some(Some(ip)) = list
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-originating-ip"))
                .map(|(_, v)| v.as_ref())
            {
                // Only before login: the logon carries the address.
                if self.auth.is_none() {
                    if let Ok(claimed) = ip.trim().trim_matches(['[', ']']).parse::<IpAddr>() {
                        self.originating = self.ctx.originating_ip(self.peer.ip(), Some(claimed));
                        self.span
                            .record("client", tracing::field::display(self.originating));
                    }
                }
            }
            let client: Vec<String> = list
                .iter()
                .filter(|(k, _)| {
                    k.eq_ignore_ascii_case("name") || k.eq_ignore_ascii_case("version")
                })
                .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("NIL")))
                .collect();
            tracing::debug!(client = %client.join(" "), "ID");
        }
        Data::Id(Some(vec![
            ("name".into(), Some("kc-gateway".into())),
            ("vendor".into(), Some("kc".into())),
            ("version".into(), Some(env!("CARGO_PKG_VERSION").into())),
        ]))
        .serialize(&mut self.io.out);
        Ok(Done::ok())
    }

    async fn login(&mut self, user: &str, pass: &str) -> CmdResult {
        if !self.plaintext_allowed() {
            return Err(no(
                Some(ResponseCode::PrivacyRequired),
                "Plaintext authentication disallowed on non-secure connections",
            ));
        }
        if user.is_empty() {
            return Err(no(Some(ResponseCode::AuthenticationFailed), "Logon failed"));
        }
        let store = match self
            .ctx
            .client
            .logon_from(user, pass, CLIENT_APP, Some(self.originating))
            .await
        {
            Ok(s) => s,
            Err(ClientError::LogonFailed) => {
                tracing::info!(user, "logon failed");
                return Err(no(
                    Some(ResponseCode::AuthenticationFailed),
                    "Logon failed: wrong user name or password",
                ));
            }
            Err(e) => {
                tracing::warn!(user, error = %e, "logon error");
                return Err(no(
                    Some(ResponseCode::Unavailable),
                    "Logon failed: the store is not available",
                ));
            }
        };
        match store.user().await {
            Ok(info) if !info.feature("imap") => {
                store.logoff().await;
                tracing::info!(user, "IMAP disabled for user");
                return Err(no(
                    Some(ResponseCode::ContactAdmin),
                    "IMAP access is disabled for this user",
                ));
            }
            Ok(_) => {}
            Err(e) => {
                store.logoff().await;
                return Err(Fail::Store(e));
            }
        }
        let login = store.login().to_string();
        self.span.record("user", login.as_str());
        tracing::info!(user = %login, "logged in");
        self.auth = Some(Auth { store });
        let max = self.cfg.max_messagesize.max(1024);
        self.io.rx.set_limits(Limits {
            max_literal: max,
            max_command: usize::try_from(max.saturating_add(1024 * 1024)).unwrap_or(usize::MAX),
            max_discard: max.saturating_mul(2),
            ..Limits::default()
        });
        Ok(Done {
            code: Some(ResponseCode::Capability(self.caps())),
            text: "Logged in".into(),
        })
    }

    /// The store session, for handlers that checked authentication.
    fn store_session(&self) -> Result<StoreSession, Fail> {
        Ok(self.require_auth()?.store.clone())
    }
}

/// Resolves when the gateway shuts down; never if the signal is gone.
pub(crate) async fn shutting_down(rx: &mut tokio::sync::watch::Receiver<bool>) {
    if rx.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The NO code and text for a store failure.
fn store_error(e: &ClientError) -> (ResponseCode, &'static str) {
    match e {
        ClientError::NotFound => (ResponseCode::NonExistent, "No such mailbox or message"),
        ClientError::Conflict => (ResponseCode::AlreadyExists, "Mailbox already exists"),
        ClientError::QuotaExceeded => (ResponseCode::OverQuota, "Quota exceeded"),
        ClientError::TooLarge => (ResponseCode::TooBig, "Message too large"),
        ClientError::Forbidden => (ResponseCode::NoPerm, "Permission denied"),
        e if e.is_temporary() => (ResponseCode::Unavailable, "Store temporarily unavailable"),
        _ => (ResponseCode::ServerBug, "Internal error"),
    }
}
