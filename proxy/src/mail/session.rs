//! What the IMAP and POP3 pre-login dialogues share: the state every mail
//! session sees ([`MailContext`]), one client connection before login
//! ([`Session`]), and reading within the command timeout and the time
//! allowed before login.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::preauth::{PreauthLimiter, PreauthSlot};
use super::stream::{read_some, send, MailStream};
use super::throttle::Throttle;
use super::upstream::ClientInfo;
use super::{MailConfig, Protocol};
use crate::state::Shared;

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
    pub preauth: Arc<PreauthLimiter>,
}

impl std::fmt::Debug for MailContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailContext")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// One client connection before login (IMAP or POP3).
pub(super) struct Session {
    pub(super) ctx: Arc<MailContext>,
    pub(super) client: ClientInfo,
    /// Held until the login succeeds (the relay does not count).
    pub(super) preauth: Option<PreauthSlot>,
    pub(super) protocol: Protocol,
    /// Server TLS configuration of the listener (STARTTLS/STLS); `None`:
    /// no TLS on this listener.
    pub(super) tls: Option<Arc<rustls::ServerConfig>>,
    /// Invalid commands so far.
    bad: u32,
    /// The user name last put into the span (fields append when re-recorded).
    pub(super) span_user: Option<String>,
    /// End of the time allowed before login.
    deadline: Instant,
}

/// Outcome of a pre-login read.
pub(super) enum Input<T> {
    Got(T),
    /// Closed by the client, or idle for too long (already answered).
    Gone,
}

impl Session {
    /// A session that holds `slot` and may take until the pre-login limit.
    pub(super) fn new(
        ctx: Arc<MailContext>,
        client: ClientInfo,
        protocol: Protocol,
        tls: Option<Arc<rustls::ServerConfig>>,
        slot: PreauthSlot,
    ) -> Session {
        let deadline = Instant::now() + ctx.cfg.preauth_limit;
        Session {
            ctx,
            client,
            preauth: Some(slot),
            protocol,
            tls,
            bad: 0,
            span_user: None,
            deadline,
        }
    }

    /// Whether a password may be sent on this connection now.
    pub(super) fn plaintext_ok(&self, stream: &MailStream) -> bool {
        stream.is_tls() || self.ctx.cfg.plaintext_auth
    }

    /// Whether STARTTLS/STLS can be offered on this listener.
    pub(super) fn starttls_available(&self) -> bool {
        self.tls.is_some()
    }

    /// Counts an invalid command; `true` when the client has used up its allowance.
    pub(super) fn too_many_bad(&mut self) -> bool {
        self.bad += 1;
        self.bad >= self.ctx.cfg.max_bad_commands
    }

    /// Reads more client bytes within the command timeout and the time
    /// allowed before login; on a timeout sends `idle_bye` and reports the
    /// client gone.
    pub(super) async fn fill(
        &self,
        stream: &mut MailStream,
        idle_bye: &[u8],
    ) -> io::Result<Option<Vec<u8>>> {
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

    /// Upgrades the client connection after STARTTLS/STLS was accepted.
    pub(super) async fn upgrade(
        &self,
        stream: MailStream,
        cfg: Arc<rustls::ServerConfig>,
    ) -> io::Result<MailStream> {
        let stream = super::stream::accept_tls(stream, cfg, self.ctx.cfg.command_timeout).await?;
        self.ctx.shared.metrics.tls_handshakes.inc();
        Ok(stream)
    }
}
