//! The IMAP dialogue before login: greeting, the commands the edge serves
//! itself ([`super::imap_preauth`]), STARTTLS, and LOGIN or AUTHENTICATE
//! PLAIN, which are replayed at the user's node ([`super::login`]); after
//! a successful login the connection becomes a relay.

use std::io;

use kc_mail_proto::capability::{imap_capability_string, CapabilityState};
use kc_mail_proto::imap::parser::{parse_sasl_response, SaslResponse};
use kc_mail_proto::imap::receiver::{Event, Receiver, ReceiverError};

use super::credentials::{from_plain, PlainRefusal};
use super::imap_preauth::{self, capitalised, Command};
use super::login::{imap_login_reply, post_login_capabilities, Attempt};
use super::relay::relay;
use super::session::{Input, Session};
use super::stream::{send, MailStream};
use super::upstream::LoggedIn;
use super::Credentials;

/// Sent when the client stays silent for too long.
const IDLE_BYE: &[u8] = b"* BYE Idle for too long.\r\n";

impl Session {
    /// The list before login: the gateway's post-login list plus what only
    /// applies before login, from the same definition the gateway uses.
    fn imap_capabilities(&self, stream: &MailStream) -> String {
        imap_capability_string(CapabilityState {
            authenticated: false,
            tls_active: stream.is_tls(),
            starttls_available: self.starttls_available(),
            plaintext_auth_allowed: self.ctx.cfg.plaintext_auth,
            idle: self.ctx.cfg.imap_idle,
            extensions_before_login: true,
        })
    }

    /// Reads the next framed event, `Gone` when the client left.
    async fn imap_event(
        &self,
        stream: &mut MailStream,
        rx: &mut Receiver,
    ) -> io::Result<Input<Event>> {
        loop {
            if let Some(e) = rx.next_event() {
                return Ok(Input::Got(e));
            }
            match self.fill(stream, IDLE_BYE).await? {
                Some(d) => rx.feed(&d),
                None => return Ok(Input::Gone),
            }
        }
    }

    /// Reads one SASL continuation line.
    async fn imap_sasl_line(
        &self,
        stream: &mut MailStream,
        rx: &mut Receiver,
    ) -> io::Result<Input<Result<Vec<u8>, ReceiverError>>> {
        loop {
            if let Some(l) = rx.next_line() {
                return Ok(Input::Got(l));
            }
            match self.fill(stream, IDLE_BYE).await? {
                Some(d) => rx.feed(&d),
                None => return Ok(Input::Gone),
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

    /// The credentials of an AUTHENTICATE PLAIN exchange; `None` when the
    /// command was answered here (refused, cancelled) or the client left
    /// (`gone` set).
    async fn imap_plain(
        &mut self,
        stream: &mut MailStream,
        rx: &mut Receiver,
        tag: &str,
        initial: Option<Vec<u8>>,
        gone: &mut bool,
    ) -> io::Result<Option<Credentials>> {
        let response = match initial {
            Some(ir) => ir,
            None => {
                send(stream, b"+ \r\n").await?;
                let line = match self.imap_sasl_line(stream, rx).await? {
                    Input::Gone => {
                        *gone = true;
                        return Ok(None);
                    }
                    Input::Got(Err(_)) => {
                        let reply = format!("{tag} BAD Response too long.\r\n");
                        send(stream, reply.as_bytes()).await?;
                        return Ok(None);
                    }
                    Input::Got(Ok(l)) => l,
                };
                match parse_sasl_response(&line) {
                    Ok(SaslResponse::Data(d)) => d,
                    Ok(SaslResponse::Cancel) => {
                        let reply = format!("{tag} BAD Authentication cancelled.\r\n");
                        send(stream, reply.as_bytes()).await?;
                        return Ok(None);
                    }
                    Err(e) => {
                        let msg = format!("Invalid PLAIN response: {e}");
                        *gone = self.imap_bad(stream, Some(tag), &msg).await?;
                        return Ok(None);
                    }
                }
            }
        };
        match from_plain(&response) {
            Ok(c) => Ok(Some(c)),
            Err(PlainRefusal::OtherUser) => {
                let reply = format!(
                    "{tag} NO [AUTHORIZATIONFAILED] Proxy authorization is not supported.\r\n"
                );
                send(stream, reply.as_bytes()).await?;
                Ok(None)
            }
            Err(e) => {
                let msg = format!("Invalid PLAIN response: {e}");
                *gone = self.imap_bad(stream, Some(tag), &msg).await?;
                Ok(None)
            }
        }
    }

    /// Runs the IMAP session until the client leaves or the login is relayed.
    pub(super) async fn imap(mut self, mut stream: MailStream) -> io::Result<()> {
        let limits = self.ctx.cfg.imap_limits;
        let mut rx = Receiver::new(limits).report_blank_lines();
        let greeting = format!(
            "* OK [CAPABILITY {}] kc-proxy ready.\r\n",
            self.imap_capabilities(&stream)
        );
        send(&mut stream, greeting.as_bytes()).await?;
        loop {
            let Input::Got(event) = self.imap_event(&mut stream, &mut rx).await? else {
                return Ok(());
            };
            let raw = match event {
                Event::Command(raw) => raw,
                Event::Continue => {
                    send(&mut stream, b"+ OK\r\n").await?;
                    continue;
                }
                Event::Error(e) if e.fatal => {
                    let message = capitalised(&e.kind.to_string());
                    send(&mut stream, format!("* BYE {message}\r\n").as_bytes()).await?;
                    return Ok(());
                }
                Event::Error(e) => {
                    let message = capitalised(&e.kind.to_string());
                    if self
                        .imap_bad(&mut stream, e.tag.as_deref(), &message)
                        .await?
                    {
                        return Ok(());
                    }
                    continue;
                }
            };
            let req = match imap_preauth::parse(&raw) {
                Ok(r) => r,
                Err(e) => {
                    if self
                        .imap_bad(&mut stream, e.tag.as_deref(), &e.message)
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
                    rx = Receiver::new(limits).report_blank_lines();
                    stream = self.upgrade(stream, cfg).await?;
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
                    let mut gone = false;
                    let creds = self
                        .imap_plain(&mut stream, &mut rx, &tag, initial, &mut gone)
                        .await?;
                    match creds {
                        Some(c) => c,
                        None if gone => return Ok(()),
                        None => continue,
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
                    let caps = post_login_capabilities(capability, self.ctx.cfg.imap_idle);
                    send(&mut stream, &imap_login_reply(&tag, &caps, &untagged)).await?;
                    self.preauth.take();
                    return relay(stream, conn, rx.take_buffered()).await;
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
}
