//! The commands that talk with the client in the middle of their execution:
//! IDLE (until `DONE`), AUTHENTICATE (SASL exchange) and STARTTLS (stream
//! upgrade).

use std::io;

use base64::Engine;

use super::io::Read;
use super::{
    no, shutting_down, CmdResult, Fail, Flow, Session, AUTOLOGOUT, KEEPALIVE, LOGIN_TIMEOUT,
};
use crate::imap::receiver::{Limits, Receiver, ReceiverError};
use crate::imap::response::{ResponseCode, Status, StatusResponse};
use crate::sasl;

/// What woke an idling session.
enum Wake {
    Input,
    Eof,
    /// No input for a keepalive interval.
    Quiet,
    Changed,
    WatchGone,
    Shutdown,
}

impl Session {
    /// Reads one raw line (SASL answer or `DONE`); `None` at EOF.
    async fn read_line(
        &mut self,
        limit: std::time::Duration,
    ) -> io::Result<Option<Result<Vec<u8>, ReceiverError>>> {
        loop {
            if let Some(line) = self.io.rx.next_line() {
                return Ok(Some(line));
            }
            match self.io.read(limit).await? {
                Read::Data => {}
                Read::Eof => return Ok(None),
            }
        }
    }

    pub(super) async fn idle(&mut self, tag: String) -> io::Result<Flow> {
        if self.auth.is_none() {
            return Ok(self.finish(tag, "IDLE", Err(Fail::Bad("not authenticated".into()))));
        }
        if !self.cfg.capability_idle {
            return Ok(self.finish(tag, "IDLE", Err(Fail::Bad("IDLE is disabled".into()))));
        }
        // The hint receiver is taken before catching up, so a change that
        // lands in between still wakes the loop below.
        self.ensure_watch();
        let mut hint = self.watch.as_ref().map(|w| w.receiver());
        if let Err(Fail::Store(kc_server::client::ClientError::Session)) = self.updates(true).await
        {
            return Ok(self.session_lost());
        }
        self.io.out.extend_from_slice(b"+ idling\r\n");
        self.io.flush().await?;
        let mut shutdown = self.shutdown.clone();
        let live = !self.cfg.ignore_command_idle;
        let started = tokio::time::Instant::now();
        loop {
            if let Some(line) = self.io.rx.next_line() {
                let result = match line {
                    Ok(l) if l.eq_ignore_ascii_case(b"DONE") => Ok(super::Done {
                        code: None,
                        text: "IDLE terminated".into(),
                    }),
                    _ => Err(Fail::Bad("expected DONE".into())),
                };
                return Ok(self.finish(tag, "IDLE", result));
            }
            let wake = {
                let changed = async {
                    match hint.as_mut() {
                        Some(rx) if live => match rx.changed().await {
                            Ok(()) => Wake::Changed,
                            Err(_) => Wake::WatchGone,
                        },
                        _ => std::future::pending().await,
                    }
                };
                tokio::select! {
                    r = self.io.read(KEEPALIVE) => match r {
                        Ok(Read::Data) => Wake::Input,
                        Ok(Read::Eof) => Wake::Eof,
                        Err(e) if e.kind() == io::ErrorKind::TimedOut => Wake::Quiet,
                        Err(e) => return Err(e),
                    },
                    w = changed => w,
                    _ = shutting_down(&mut shutdown) => Wake::Shutdown,
                }
            };
            match wake {
                Wake::Input => {}
                Wake::Eof => return Ok(Flow::Close),
                Wake::Quiet => {
                    if started.elapsed() >= AUTOLOGOUT {
                        self.untagged(Status::Bye, None, "Autologout; idle for too long");
                        return Ok(Flow::Close);
                    }
                    if !self.keepalive().await {
                        return Ok(self.session_lost());
                    }
                }
                Wake::Shutdown => {
                    self.untagged(Status::Bye, None, "Server shutting down");
                    return Ok(Flow::Close);
                }
                Wake::Changed => {
                    if let Err(Fail::Store(kc_server::client::ClientError::Session)) =
                        self.updates(false).await
                    {
                        return Ok(self.session_lost());
                    }
                    self.io.flush().await?;
                }
                Wake::WatchGone => {
                    self.watch = None;
                    self.ensure_watch();
                    hint = self.watch.as_ref().map(|w| w.receiver());
                    // A fresh watcher starts at our position; catch up now.
                    if let Err(Fail::Store(kc_server::client::ClientError::Session)) =
                        self.updates(true).await
                    {
                        return Ok(self.session_lost());
                    }
                    self.io.flush().await?;
                }
            }
        }
    }

    pub(super) async fn authenticate(
        &mut self,
        _tag: &str,
        mechanism: &str,
        initial: Option<Vec<u8>>,
    ) -> io::Result<CmdResult> {
        if self.auth.is_some() {
            return Ok(Err(Fail::Bad("already authenticated".into())));
        }
        if mechanism != "PLAIN" {
            return Ok(Err(no(None, "Unsupported authentication mechanism")));
        }
        if !self.plaintext_allowed() {
            return Ok(Err(no(
                Some(ResponseCode::PrivacyRequired),
                "Plaintext authentication disallowed on non-secure connections",
            )));
        }
        let response = match initial {
            Some(r) => r,
            None => {
                self.io.out.extend_from_slice(b"+ \r\n");
                self.io.flush().await?;
                let line = match self.read_line(LOGIN_TIMEOUT).await? {
                    Some(Ok(l)) => l,
                    Some(Err(_)) => return Ok(Err(Fail::Bad("SASL response too long".into()))),
                    None => return Err(io::ErrorKind::UnexpectedEof.into()),
                };
                if line == b"*" {
                    return Ok(Err(Fail::Bad("AUTHENTICATE cancelled".into())));
                }
                match base64::engine::general_purpose::STANDARD.decode(&line) {
                    Ok(r) => r,
                    Err(_) => return Ok(Err(Fail::Bad("invalid base64".into()))),
                }
            }
        };
        let creds = match sasl::decode_plain(&response) {
            Ok(c) => c,
            Err(e) => return Ok(Err(Fail::Bad(format!("invalid PLAIN response: {e}")))),
        };
        if creds
            .authzid
            .as_deref()
            .is_some_and(|z| !z.is_empty() && !z.eq_ignore_ascii_case(&creds.authcid))
        {
            return Ok(Err(no(
                Some(ResponseCode::AuthorizationFailed),
                "Authorization identity not supported",
            )));
        }
        let password = String::from_utf8_lossy(&creds.password).into_owned();
        Ok(self.login(&creds.authcid, &password).await)
    }

    pub(super) async fn starttls(&mut self, tag: String) -> io::Result<Flow> {
        if self.tls {
            return Ok(self.finish(tag, "STARTTLS", Err(Fail::Bad("TLS already active".into()))));
        }
        if self.auth.is_some() {
            return Ok(self.finish(
                tag,
                "STARTTLS",
                Err(Fail::Bad("already authenticated".into())),
            ));
        }
        let Some(acceptor) = self.ctx.tls_acceptor() else {
            return Ok(self.finish(
                tag,
                "STARTTLS",
                Err(Fail::Bad("TLS is not available".into())),
            ));
        };
        // Anything pipelined after STARTTLS was sent in the clear and must
        // not be executed after the upgrade (command injection).
        if self.io.rx.buffered() > 0 {
            return Ok(self.finish(
                tag,
                "STARTTLS",
                Err(Fail::Bad(
                    "no commands may follow STARTTLS in the same packet".into(),
                )),
            ));
        }
        StatusResponse::tagged(tag, Status::Ok, "Begin TLS negotiation now")
            .serialize(&mut self.io.out);
        self.io.flush().await?;
        let Some(conn) = self.io.conn.take() else {
            return Ok(Flow::Close);
        };
        match conn.accept(&acceptor).await {
            Ok(tls) => {
                self.io.conn = Some(tls);
                self.io.rx = Receiver::new(Limits::unauthenticated());
                self.tls = true;
                Ok(Flow::Continue)
            }
            Err(e) => {
                tracing::info!(error = %e, "TLS handshake failed");
                Ok(Flow::Close)
            }
        }
    }
}
