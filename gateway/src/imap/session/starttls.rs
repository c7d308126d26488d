//! STARTTLS (RFC 3501 §6.2.1): the plain connection is upgraded in place,
//! within the same handshake time limit as implicit TLS and POP3 STLS, so
//! a client that asks for TLS and then stays silent is closed.

use std::io;

use super::{Fail, Flow, Session};
use crate::imap::receiver::{Limits, Receiver};
use crate::imap::response::{Status, StatusResponse};

impl Session {
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
        match crate::net::accept_tls(conn, &acceptor, crate::listeners::HANDSHAKE_TIMEOUT).await {
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
