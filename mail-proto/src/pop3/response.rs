//! POP3 replies: `+OK` / `-ERR` lines with RFC 2449/3206 response codes,
//! multi-line replies with byte-stuffing, SASL continuations, CAPA.

use super::parser::Pop3Error;
use crate::capability::{pop3_capabilities, CapaState};

/// Extended response codes (RFC 2449 §8, RFC 3206).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespCode {
    /// `[AUTH]`: credentials were wrong (RFC 3206).
    Auth,
    /// `[SYS/TEMP]`: temporary system failure, e.g. the store is down.
    SysTemp,
    /// `[SYS/PERM]`: permanent system failure.
    SysPerm,
    /// `[IN-USE]`: the mailbox is locked by another session.
    InUse,
    /// `[LOGIN-DELAY]`: logged in too recently.
    LoginDelay,
}

impl RespCode {
    fn as_str(self) -> &'static str {
        match self {
            RespCode::Auth => "AUTH",
            RespCode::SysTemp => "SYS/TEMP",
            RespCode::SysPerm => "SYS/PERM",
            RespCode::InUse => "IN-USE",
            RespCode::LoginDelay => "LOGIN-DELAY",
        }
    }
}

/// One POP3 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `+OK text`.
    Ok(String),
    /// `-ERR [code] text`.
    Err(Option<RespCode>, String),
    /// `+ challenge` during AUTH (already base64, possibly empty).
    Continue(String),
    /// `+OK text`, then the byte-stuffed body and the `.` terminator.
    MultiLine {
        /// Text of the first line.
        first: String,
        /// Raw body (lines in any line-ending style).
        body: Vec<u8>,
    },
}

fn push_text(out: &mut Vec<u8>, text: &str) {
    out.extend(
        text.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

impl Response {
    /// Appends the wire form.
    pub fn serialize(&self, out: &mut Vec<u8>) {
        match self {
            Response::Ok(text) => {
                out.extend_from_slice(b"+OK");
                if !text.is_empty() {
                    out.push(b' ');
                    push_text(out, text);
                }
                out.extend_from_slice(b"\r\n");
            }
            Response::Err(code, text) => {
                out.extend_from_slice(b"-ERR");
                if let Some(c) = code {
                    out.extend_from_slice(format!(" [{}]", c.as_str()).as_bytes());
                }
                if !text.is_empty() {
                    out.push(b' ');
                    push_text(out, text);
                }
                out.extend_from_slice(b"\r\n");
            }
            Response::Continue(challenge) => {
                out.extend_from_slice(b"+ ");
                push_text(out, challenge);
                out.extend_from_slice(b"\r\n");
            }
            Response::MultiLine { first, body } => {
                Response::Ok(first.clone()).serialize(out);
                out.extend_from_slice(&dot_stuff(body));
            }
        }
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.serialize(&mut out);
        out
    }
}

impl From<&Pop3Error> for Response {
    /// The `-ERR` reply for a rejected line.
    fn from(e: &Pop3Error) -> Self {
        Response::Err(None, e.to_string())
    }
}

/// Byte-stuffs a multi-line body (RFC 1939 §3): every line ending becomes
/// CRLF, a line starting with `.` gets another `.`, a final CRLF is added if
/// missing, and the `.` CRLF terminator closes the block.
pub fn dot_stuff(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 64 + 5);
    let mut at_line_start = true;
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        match b {
            b'\r' if body.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                at_line_start = true;
                continue;
            }
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            _ => {
                out.push(b);
                at_line_start = false;
            }
        }
        i += 1;
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// The full multi-line CAPA reply.
pub fn capa_response(state: CapaState) -> Response {
    let mut body = Vec::new();
    for c in pop3_capabilities(state) {
        body.extend_from_slice(c.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    Response::MultiLine {
        first: "Capability list follows".into(),
        body,
    }
}

/// `+OK n size` for STAT.
pub fn stat(count: u32, size: u64) -> Response {
    Response::Ok(format!("{count} {size}"))
}

/// The multi-line LIST reply: `n size` per message.
pub fn scan_listing(messages: &[(u32, u64)]) -> Response {
    let mut body = Vec::new();
    for (n, size) in messages {
        body.extend_from_slice(format!("{n} {size}\r\n").as_bytes());
    }
    Response::MultiLine {
        first: format!("{} messages", messages.len()),
        body,
    }
}

/// The multi-line UIDL reply: `n uid` per message. UIDs must be 1–70
/// characters in 0x21–0x7E (RFC 1939 §7); the caller guarantees that.
pub fn uidl_listing(messages: &[(u32, &str)]) -> Response {
    let mut body = Vec::new();
    for (n, uid) in messages {
        body.extend_from_slice(format!("{n} {uid}\r\n").as_bytes());
    }
    Response::MultiLine {
        first: String::new(),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(r: Response) -> String {
        String::from_utf8(r.to_bytes()).unwrap()
    }

    #[test]
    fn dot_stuffing() {
        assert_eq!(dot_stuff(b""), b".\r\n");
        assert_eq!(
            dot_stuff(b"a\r\n.b\r\n..c\r\n"),
            b"a\r\n..b\r\n...c\r\n.\r\n"
        );
        assert_eq!(dot_stuff(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(dot_stuff(b"x\n.y"), b"x\r\n..y\r\n.\r\n");
        assert_eq!(dot_stuff(b".start\rmid"), b"..start\rmid\r\n.\r\n");
        assert_eq!(dot_stuff(b"a.b\r\n"), b"a.b\r\n.\r\n");
    }

    #[test]
    fn replies() {
        assert_eq!(
            s(Response::Ok("POP3 gateway ready".into())),
            "+OK POP3 gateway ready\r\n"
        );
        assert_eq!(
            s(Response::Err(
                Some(RespCode::Auth),
                "Wrong username or password".into()
            )),
            "-ERR [AUTH] Wrong username or password\r\n"
        );
        assert_eq!(
            s(Response::Err(
                Some(RespCode::SysTemp),
                "store unavailable".into()
            )),
            "-ERR [SYS/TEMP] store unavailable\r\n"
        );
        assert_eq!(
            s(Response::Err(Some(RespCode::InUse), "x".into())),
            "-ERR [IN-USE] x\r\n"
        );
        assert_eq!(s(Response::Continue(String::new())), "+ \r\n");
        assert_eq!(
            s(Response::from(&Pop3Error::UnknownCommand)),
            "-ERR unknown command\r\n"
        );
        assert_eq!(s(stat(2, 320)), "+OK 2 320\r\n");
        assert_eq!(
            s(scan_listing(&[(1, 120), (2, 200)])),
            "+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n"
        );
        assert_eq!(
            s(uidl_listing(&[(1, "000000056b048328")])),
            "+OK\r\n1 000000056b048328\r\n.\r\n"
        );
        assert_eq!(
            s(Response::MultiLine {
                first: "message follows".into(),
                body: b"Subject: x\r\n\r\n.hidden\r\n".to_vec()
            }),
            "+OK message follows\r\nSubject: x\r\n\r\n..hidden\r\n.\r\n"
        );
    }

    #[test]
    fn capa_reply() {
        let tls = CapaState {
            tls_active: true,
            stls_available: true,
            ..Default::default()
        };
        assert!(s(capa_response(tls)).ends_with("USER\r\nSASL PLAIN\r\n.\r\n"));
    }
}
