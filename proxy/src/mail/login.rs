//! Replaying a client's login at its node: the failed-login throttle
//! first, then the route, then the node side of the dialogue
//! ([`super::upstream`]), with the outcome counted and logged; and what the
//! client is told after a successful IMAP login.

use std::time::Instant;

use kc_mail_proto::capability;

use super::route::{route, RouteError};
use super::session::Session;
use super::throttle::Verdict;
use super::upstream::{self, LoggedIn, Outcome};
use super::{Credentials, Protocol};

/// How a login attempt ended, as the client is told.
pub(super) enum Attempt {
    /// Relay from here on.
    LoggedIn(Box<LoggedIn>),
    /// Wrong credentials or unknown user (counted by the throttle).
    Failed,
    /// Too many failures: refused without asking the node.
    Refused,
    /// Directory or node trouble.
    Unavailable,
}

/// The capability list a client gets with its IMAP login reply: the one
/// the node sent with its own, else the gateway's post-login list from the
/// shared definition (`idle`: the gateways' `imap_capability_idle`).
pub fn post_login_capabilities(from_node: Option<String>, idle: bool) -> String {
    from_node.unwrap_or_else(|| capability::imap_post_login(idle))
}

/// The bytes that answer a relayed IMAP login: the node's untagged lines,
/// then `tag OK [CAPABILITY ...] Logged in`.
pub fn imap_login_reply(tag: &str, capabilities: &str, untagged: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for u in untagged {
        out.extend_from_slice(u);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("{tag} OK [CAPABILITY {capabilities}] Logged in\r\n").as_bytes());
    out
}

impl Session {
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
    pub(super) async fn attempt(&mut self, creds: &Credentials) -> Attempt {
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
        let (target, node) = match route(&self.ctx, self.protocol, &creds.user).await {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use kc_mail_proto::capability::{imap_capability_string, CapabilityState};

    #[test]
    fn login_reply_framing() {
        let untagged = vec![b"* FLAGS ()".to_vec(), b"* OK [ALERT] hi".to_vec()];
        assert_eq!(
            imap_login_reply("a1", "IMAP4rev1 IDLE", &untagged),
            b"* FLAGS ()\r\n* OK [ALERT] hi\r\na1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"
                .to_vec()
        );
        assert_eq!(
            imap_login_reply("t", "IMAP4rev1", &[]),
            b"t OK [CAPABILITY IMAP4rev1] Logged in\r\n".to_vec()
        );
    }

    /// The edge's post-login list (when the node sent none) is the one the
    /// gateway's session computes once a client has logged in, QRESYNC
    /// included.
    #[test]
    fn post_login_list_is_the_gateways() {
        for idle in [true, false] {
            let gateway = imap_capability_string(CapabilityState {
                authenticated: true,
                tls_active: false,
                starttls_available: true,
                plaintext_auth_allowed: true,
                idle,
                extensions_before_login: false,
            });
            assert_eq!(post_login_capabilities(None, idle), gateway);
        }
        assert!(post_login_capabilities(None, true).contains("QRESYNC"));
        assert_eq!(
            post_login_capabilities(Some("IMAP4rev1 X".into()), true),
            "IMAP4rev1 X"
        );
    }
}
