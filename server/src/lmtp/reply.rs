//! LMTP replies: a code, an enhanced status code (RFC 2034, RFC 3463) and
//! text, written as one line or as an EHLO-style multi-line reply.
//!
//! RFC 2034 §3 exempts the greeting and the LHLO reply from enhanced
//! status codes; the intermediate 354 has none either. All other replies
//! carry one.

use super::parser::ParseError;

/// An enhanced status code `class.subject.detail` (RFC 3463).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u8, pub u16, pub u16);

/// One reply, possibly multi-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    status: Option<Status>,
    lines: Vec<String>,
}

impl Reply {
    /// A single-line reply.
    pub fn new(code: u16, status: Option<Status>, text: impl Into<String>) -> Reply {
        Reply {
            code,
            status,
            lines: vec![text.into()],
        }
    }

    /// The three-digit reply code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The enhanced status code, if the reply carries one.
    pub fn status(&self) -> Option<Status> {
        self.status
    }

    /// Whether this is a 2xx or 3xx reply.
    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// Appends the wire form to `out`. Control characters in the text (which
    /// may echo client input) become `?`, so a reply is always whole lines.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            out.extend_from_slice(format!("{}{}", self.code, sep).as_bytes());
            if let Some(Status(class, subject, detail)) = self.status {
                out.extend_from_slice(format!("{class}.{subject}.{detail} ").as_bytes());
            }
            for c in line.chars() {
                let c = if c.is_control() { '?' } else { c };
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }

    /// 220: the greeting.
    pub fn greeting(hostname: &str) -> Reply {
        Reply::new(220, None, format!("{hostname} LMTP kc ready"))
    }

    /// 250: the multi-line LHLO reply advertising the extensions kc
    /// implements. CHUNKING (BDAT) and DSN are not among them.
    pub fn lhlo(hostname: &str, max_message_size: u64) -> Reply {
        Reply {
            code: 250,
            status: None,
            lines: vec![
                hostname.to_owned(),
                "PIPELINING".into(),
                "ENHANCEDSTATUSCODES".into(),
                "8BITMIME".into(),
                format!("SIZE {max_message_size}"),
                "SMTPUTF8".into(),
            ],
        }
    }

    /// 250 2.0.0 with text.
    pub fn ok(text: &str) -> Reply {
        Reply::new(250, Some(Status(2, 0, 0)), text)
    }

    /// 250 2.1.0: sender accepted.
    pub fn sender_ok(sender: &str) -> Reply {
        Reply::new(250, Some(Status(2, 1, 0)), format!("<{sender}> sender ok"))
    }

    /// 250 2.1.5: recipient accepted.
    pub fn recipient_ok(rcpt: &str) -> Reply {
        Reply::new(250, Some(Status(2, 1, 5)), format!("<{rcpt}> recipient ok"))
    }

    /// 354: send the body.
    pub fn start_data() -> Reply {
        Reply::new(354, None, "End data with <CR><LF>.<CR><LF>")
    }

    /// 250 2.0.0: the message is durable in this recipient's store.
    pub fn delivered(rcpt: &str) -> Reply {
        Reply::new(250, Some(Status(2, 0, 0)), format!("<{rcpt}> delivered"))
    }

    /// 221 2.0.0: closing after QUIT.
    pub fn bye() -> Reply {
        Reply::new(221, Some(Status(2, 0, 0)), "Bye")
    }

    /// 252 2.0.0: VRFY is never answered with a lookup.
    pub fn cannot_verify() -> Reply {
        Reply::new(
            252,
            Some(Status(2, 0, 0)),
            "Cannot VRFY user, but will accept message and attempt delivery",
        )
    }

    /// 214 2.0.0: HELP.
    pub fn help() -> Reply {
        Reply::new(
            214,
            Some(Status(2, 0, 0)),
            "Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP",
        )
    }

    /// 421 4.3.2: the listener is shutting down; the client retries later.
    pub fn shutting_down(hostname: &str) -> Reply {
        Reply::new(
            421,
            Some(Status(4, 3, 2)),
            format!("{hostname} shutting down, try again later"),
        )
    }

    /// 421 4.4.2: the client was idle too long.
    pub fn timeout(hostname: &str) -> Reply {
        Reply::new(
            421,
            Some(Status(4, 4, 2)),
            format!("{hostname} timeout, closing connection"),
        )
    }

    /// 421 4.7.0: too many bad commands on this connection.
    pub fn too_many_errors(hostname: &str) -> Reply {
        Reply::new(
            421,
            Some(Status(4, 7, 0)),
            format!("{hostname} too many errors, closing connection"),
        )
    }

    /// 421 4.3.2: no connection slot free.
    pub fn too_many_connections(hostname: &str) -> Reply {
        Reply::new(
            421,
            Some(Status(4, 3, 2)),
            format!("{hostname} too many connections, try again later"),
        )
    }

    /// 451 4.3.0: temporary failure; the MTA keeps the message and retries.
    pub fn temp_fail(what: &str) -> Reply {
        Reply::new(
            451,
            Some(Status(4, 3, 0)),
            format!("{what}: temporary failure, try again later"),
        )
    }

    /// 452 4.5.3: recipient limit of the transaction reached
    /// (RFC 5321 §4.5.3.1.10); the MTA sends the rest in a new transaction.
    pub fn too_many_recipients() -> Reply {
        Reply::new(452, Some(Status(4, 5, 3)), "Too many recipients")
    }

    /// 500 5.5.1 for HELO/EHLO.
    pub fn use_lhlo() -> Reply {
        Reply::new(500, Some(Status(5, 5, 1)), "This is LMTP: use LHLO")
    }

    /// 502 5.5.1: known verb, not implemented.
    pub fn not_implemented(verb: &str) -> Reply {
        Reply::new(
            502,
            Some(Status(5, 5, 1)),
            format!("{verb} not implemented"),
        )
    }

    /// 503 5.5.1: command out of sequence.
    pub fn bad_sequence(text: &str) -> Reply {
        Reply::new(503, Some(Status(5, 5, 1)), text)
    }

    /// 550 5.1.1: no such mailbox.
    pub fn unknown_user(rcpt: &str) -> Reply {
        Reply::new(550, Some(Status(5, 1, 1)), format!("<{rcpt}> no such user"))
    }

    /// 550 5.2.1: the mailbox exists but does not take mail.
    pub fn mailbox_disabled(rcpt: &str) -> Reply {
        Reply::new(
            550,
            Some(Status(5, 2, 1)),
            format!("<{rcpt}> mailbox disabled"),
        )
    }

    /// 552 5.2.2: the recipient is over its hard quota.
    pub fn over_quota(rcpt: &str) -> Reply {
        Reply::new(
            552,
            Some(Status(5, 2, 2)),
            format!("<{rcpt}> mailbox full (over quota)"),
        )
    }

    /// 552 5.3.4: message larger than the limit (RFC 1870).
    pub fn too_big(max: u64) -> Reply {
        Reply::new(
            552,
            Some(Status(5, 3, 4)),
            format!("Message size exceeds fixed maximum message size of {max} bytes"),
        )
    }

    /// 553 5.6.7: non-ASCII address in a transaction without SMTPUTF8
    /// (RFC 6531 §3.7.4.1).
    pub fn needs_smtputf8() -> Reply {
        Reply::new(
            553,
            Some(Status(5, 6, 7)),
            "Non-ASCII address requires MAIL FROM with SMTPUTF8",
        )
    }

    /// 554 5.3.0: the store refused the message permanently.
    pub fn perm_fail(rcpt: &str) -> Reply {
        Reply::new(
            554,
            Some(Status(5, 3, 0)),
            format!("<{rcpt}> delivery failed permanently"),
        )
    }
}

impl From<&ParseError> for Reply {
    fn from(e: &ParseError) -> Reply {
        let (code, status) = match e {
            ParseError::LineTooLong | ParseError::BadBytes => (500, Status(5, 5, 2)),
            ParseError::Unrecognized => (500, Status(5, 5, 1)),
            ParseError::BadArguments(_) => (501, Status(5, 5, 4)),
            ParseError::BadSender => (501, Status(5, 1, 7)),
            ParseError::BadRecipient => (501, Status(5, 1, 3)),
            ParseError::UnsupportedParameter(_) => (555, Status(5, 5, 4)),
        };
        let mut text = e.to_string();
        if let Some(first) = text.get(..1) {
            let upper = first.to_ascii_uppercase();
            text.replace_range(..1, &upper);
        }
        Reply::new(code, Some(status), text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line() {
        assert_eq!(
            Reply::delivered("a@b").to_bytes(),
            b"250 2.0.0 <a@b> delivered\r\n"
        );
        assert_eq!(
            Reply::greeting("mx").to_bytes(),
            b"220 mx LMTP kc ready\r\n"
        );
        assert_eq!(
            Reply::start_data().to_bytes(),
            b"354 End data with <CR><LF>.<CR><LF>\r\n"
        );
    }

    #[test]
    fn lhlo_is_multi_line_without_status() {
        let text =
            String::from_utf8(Reply::lhlo("mx.example", 1000).to_bytes()).unwrap_or_default();
        assert_eq!(
            text,
            "250-mx.example\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n\
             250-SIZE 1000\r\n250 SMTPUTF8\r\n"
        );
    }

    #[test]
    fn control_characters_are_masked() {
        assert_eq!(Reply::ok("a\r\nb\0").to_bytes(), b"250 2.0.0 a??b?\r\n");
    }

    #[test]
    fn parse_errors_map_to_codes() {
        let code = |e: ParseError| Reply::from(&e).to_bytes()[..9].to_vec();
        assert_eq!(code(ParseError::LineTooLong), b"500 5.5.2");
        assert_eq!(code(ParseError::Unrecognized), b"500 5.5.1");
        assert_eq!(code(ParseError::BadArguments("x")), b"501 5.5.4");
        assert_eq!(code(ParseError::BadSender), b"501 5.1.7");
        assert_eq!(code(ParseError::BadRecipient), b"501 5.1.3");
        assert_eq!(
            code(ParseError::UnsupportedParameter("X".into())),
            b"555 5.5.4"
        );
    }
}
