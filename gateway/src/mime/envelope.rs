//! The IMAP ENVELOPE of a message (RFC 3501 §7.4.2).
//!
//! `(date subject from sender reply-to to cc bcc in-reply-to message-id)`:
//! text fields are the unfolded raw header values (RFC 2047 encoded-words
//! left encoded), `NIL` when absent or empty; Sender and Reply-To fall back
//! to From when absent or empty; address lists are `NIL` when empty.

use super::address::{parse_list, Address};
use super::header::{self, Field};
use crate::imap::quote::write_nstring;

/// A computed envelope; [`Envelope::serialize`] writes the IMAP form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// `Date:`.
    pub date: Option<Vec<u8>>,
    /// `Subject:`.
    pub subject: Option<Vec<u8>>,
    /// `From:`.
    pub from: Vec<Address>,
    /// `Sender:` (or From).
    pub sender: Vec<Address>,
    /// `Reply-To:` (or From).
    pub reply_to: Vec<Address>,
    /// `To:`.
    pub to: Vec<Address>,
    /// `Cc:`.
    pub cc: Vec<Address>,
    /// `Bcc:`.
    pub bcc: Vec<Address>,
    /// `In-Reply-To:`.
    pub in_reply_to: Option<Vec<u8>>,
    /// `Message-ID:`.
    pub message_id: Option<Vec<u8>>,
}

impl Envelope {
    /// Computes the envelope from the header fields of a message.
    pub fn from_fields(msg: &[u8], fields: &[Field]) -> Envelope {
        let list = |name: &str| {
            header::first(msg, fields, name)
                .map(parse_list)
                .unwrap_or_default()
        };
        let from = list("From");
        let mut sender = list("Sender");
        if sender.is_empty() {
            sender = from.clone();
        }
        let mut reply_to = list("Reply-To");
        if reply_to.is_empty() {
            reply_to = from.clone();
        }
        Envelope {
            date: header::value(msg, fields, "Date"),
            subject: header::value(msg, fields, "Subject"),
            from,
            sender,
            reply_to,
            to: list("To"),
            cc: list("Cc"),
            bcc: list("Bcc"),
            in_reply_to: header::value(msg, fields, "In-Reply-To"),
            message_id: header::value(msg, fields, "Message-ID"),
        }
    }

    /// Computes the envelope of a whole message.
    pub fn parse(msg: &[u8]) -> Envelope {
        let (header_end, _) = header::split_header(msg, 0..msg.len());
        let fields = header::fields(msg, 0..header_end);
        Envelope::from_fields(msg, &fields)
    }

    /// The parenthesised ENVELOPE as a new buffer (what a FETCH reply
    /// carries).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.serialize(&mut out);
        out
    }

    /// Writes the parenthesised ENVELOPE.
    pub fn serialize(&self, out: &mut Vec<u8>) {
        out.push(b'(');
        write_nstring(out, self.date.as_deref());
        out.push(b' ');
        write_nstring(out, self.subject.as_deref());
        for list in [
            &self.from,
            &self.sender,
            &self.reply_to,
            &self.to,
            &self.cc,
            &self.bcc,
        ] {
            out.push(b' ');
            write_addresses(out, list);
        }
        out.push(b' ');
        write_nstring(out, self.in_reply_to.as_deref());
        out.push(b' ');
        write_nstring(out, self.message_id.as_deref());
        out.push(b')');
    }
}

fn write_addresses(out: &mut Vec<u8>, list: &[Address]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        write_nstring(out, a.name.as_deref());
        out.push(b' ');
        write_nstring(out, a.adl.as_deref());
        out.push(b' ');
        write_nstring(out, a.mailbox.as_deref());
        out.push(b' ');
        write_nstring(out, a.host.as_deref());
        out.push(b')');
    }
    out.push(b')');
}
