//! IDLE (RFC 2177): the session waits for `DONE` while it reports what
//! changes in the selected mailbox, keeps the node's session alive and
//! logs out a client idle for too long.

use std::io;

use super::io::Read;
use super::{shutting_down, Fail, Flow, Session, AUTOLOGOUT, KEEPALIVE};
use crate::imap::response::Status;

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
        if let Err(Fail::Store(kc_store_api::client::ClientError::Session)) =
            self.updates(true).await
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
                    if let Err(Fail::Store(kc_store_api::client::ClientError::Session)) =
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
                    if let Err(Fail::Store(kc_store_api::client::ClientError::Session)) =
                        self.updates(true).await
                    {
                        return Ok(self.session_lost());
                    }
                    self.io.flush().await?;
                }
            }
        }
    }
}
