//! AUTHENTICATE (RFC 3501 §6.2.2) with SASL PLAIN and the SASL-IR initial
//! response (RFC 4959): the one command that reads client lines in the
//! middle of its execution before login.

use std::io;

use base64::Engine;

use super::io::Read;
use super::{no, CmdResult, Fail, Session, LOGIN_TIMEOUT};
use crate::imap::receiver::ReceiverError;
use crate::imap::response::ResponseCode;
use kc_mail_proto::sasl;

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
        if creds.authorizes_other_user() {
            return Ok(Err(no(
                Some(ResponseCode::AuthorizationFailed),
                "Authorization identity not supported",
            )));
        }
        let password = String::from_utf8_lossy(&creds.password).into_owned();
        Ok(self.login(&creds.authcid, &password).await)
    }
}
