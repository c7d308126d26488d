//! The POP3 dialogue before login: greeting, CAPA, STLS, QUIT, and USER/PASS
//! or AUTH PLAIN, which are replayed at the user's node
//! ([`super::login`]); after a successful login the connection becomes a
//! relay.

use std::io;

use kc_mail_proto::capability::{pop3_capabilities, CapaState};
use kc_mail_proto::pop3::parser::{parse_sasl_line, SaslLine};

use super::credentials::from_plain;
use super::line::{Line, LineReader};
use super::login::Attempt;
use super::pop3_preauth::{self, Command};
use super::relay::relay;
use super::session::{Input, Session};
use super::stream::{send, MailStream};
use super::Credentials;

/// The multi-line CAPA reply before login, from the list the gateway uses.
pub fn capa_reply(state: CapaState) -> Vec<u8> {
    let mut reply = b"+OK Capability list follows\r\n".to_vec();
    for c in pop3_capabilities(state) {
        reply.extend_from_slice(c.as_bytes());
        reply.extend_from_slice(b"\r\n");
    }
    reply.extend_from_slice(b".\r\n");
    reply
}

impl Session {
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

    /// The credentials of an AUTH PLAIN exchange; `None` when the command
    /// was answered here or the client left (`gone` set).
    async fn pop3_plain(
        &mut self,
        stream: &mut MailStream,
        lines: &mut LineReader,
        initial: Option<Vec<u8>>,
        gone: &mut bool,
    ) -> io::Result<Option<Credentials>> {
        let response = match initial {
            Some(ir) => ir,
            None => {
                send(stream, b"+ \r\n").await?;
                let line = match self.pop3_line(stream, lines).await? {
                    Input::Gone => {
                        *gone = true;
                        return Ok(None);
                    }
                    Input::Got(Line::TooLong) => {
                        send(stream, b"-ERR Response too long.\r\n").await?;
                        return Ok(None);
                    }
                    Input::Got(Line::Line(l)) => l,
                };
                match parse_sasl_line(&line) {
                    Ok(SaslLine::Data(d)) => d,
                    Ok(SaslLine::Cancel) => {
                        send(stream, b"-ERR Authentication cancelled.\r\n").await?;
                        return Ok(None);
                    }
                    Err(e) => {
                        let msg = format!("Invalid PLAIN response: {e}.");
                        *gone = self.pop3_err(stream, &msg).await?;
                        return Ok(None);
                    }
                }
            }
        };
        match from_plain(&response) {
            Ok(c) => Ok(Some(c)),
            Err(e) => {
                let msg = format!("Invalid PLAIN response: {e}.");
                *gone = self.pop3_err(stream, &msg).await?;
                Ok(None)
            }
        }
    }

    /// Runs the POP3 session until the client leaves or the login is relayed.
    pub(super) async fn pop3(mut self, mut stream: MailStream) -> io::Result<()> {
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
                Command::Capa => {
                    let state = CapaState {
                        tls_active: stream.is_tls(),
                        stls_available: self.starttls_available(),
                        plaintext_auth_allowed: self.ctx.cfg.plaintext_auth,
                        ..CapaState::default()
                    };
                    send(&mut stream, &capa_reply(state)).await?;
                    continue;
                }
                Command::Stls => {
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
                    stream = self.upgrade(stream, cfg).await?;
                    continue;
                }
                Command::Quit => {
                    send(&mut stream, b"+OK Logging out.\r\n").await?;
                    return Ok(());
                }
                Command::NeedsLogin => {
                    if self.pop3_err(&mut stream, "Log in first.").await? {
                        return Ok(());
                    }
                    continue;
                }
                Command::User(_) | Command::Pass(_) | Command::Auth { .. } if !plaintext_ok => {
                    send(
                        &mut stream,
                        b"-ERR [AUTH] Plaintext authentication is disabled, use STLS.\r\n",
                    )
                    .await?;
                    continue;
                }
                Command::User(u) => {
                    user = Some(u);
                    send(&mut stream, b"+OK\r\n").await?;
                    continue;
                }
                Command::Pass(password) => {
                    let Some(u) = user.take() else {
                        if self.pop3_err(&mut stream, "USER first.").await? {
                            return Ok(());
                        }
                        continue;
                    };
                    Credentials { user: u, password }
                }
                Command::Auth {
                    mechanism: None, ..
                } => {
                    send(&mut stream, b"+OK\r\nPLAIN\r\n.\r\n").await?;
                    continue;
                }
                Command::Auth {
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
                    let mut gone = false;
                    let creds = self
                        .pop3_plain(&mut stream, &mut lines, initial, &mut gone)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capa_before_login() {
        let plain = CapaState {
            stls_available: true,
            ..CapaState::default()
        };
        let reply = String::from_utf8(capa_reply(plain)).unwrap();
        assert!(reply.starts_with("+OK Capability list follows\r\nCAPA\r\n"));
        assert!(reply.ends_with("PIPELINING\r\nSTLS\r\n.\r\n"), "{reply}");
        let tls = CapaState {
            tls_active: true,
            stls_available: true,
            ..CapaState::default()
        };
        let reply = String::from_utf8(capa_reply(tls)).unwrap();
        assert!(reply.contains("USER\r\nSASL PLAIN\r\n") && !reply.contains("STLS"));
    }
}
