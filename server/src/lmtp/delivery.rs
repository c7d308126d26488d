//! The boundary between the LMTP session and the mailbox store: the
//! [`Delivery`] trait, which the store implements, and the values that cross
//! it.

use async_trait::async_trait;

use super::parser::{BodyType, Mailbox, ReversePath};
use super::spool::Message;

/// The store side of LMTP delivery.
///
/// The session calls [`check_recipient`](Delivery::check_recipient) once per
/// RCPT, in order, and [`deliver`](Delivery::deliver) once per DATA with
/// every accepted recipient, so a message for several local users is stored
/// once (single-instance attachments, KC manual §6.4.1).
#[async_trait]
pub trait Delivery: Send + Sync + 'static {
    /// What the store resolved a recipient to (a user id, a store id, ...),
    /// handed back to [`deliver`](Delivery::deliver) unchanged.
    type Recipient: Clone + Send + Sync + 'static;

    /// Looks up one RCPT address. The address is as the MTA sent it: the
    /// MTA has already mapped aliases to primary addresses (KC manual
    /// §5.11), so kc matches it against primary addresses.
    async fn check_recipient(&self, address: &Mailbox) -> RecipientCheck<Self::Recipient>;

    /// Stores `message` for every recipient and returns one outcome per
    /// entry of `recipients`, in the same order. The same user may appear
    /// more than once (two RCPTs that resolve to one store); it should get
    /// the message once and the same outcome for each entry.
    ///
    /// Return [`RecipientOutcome::Delivered`] only once the message is
    /// durable (committed) for that recipient: the MTA deletes its copy on
    /// the 250 it sends back. Hard quota is checked here, per recipient, so
    /// that one full mailbox fails only that recipient. A missing outcome
    /// (a shorter vector) is answered as a temporary failure.
    async fn deliver(
        &self,
        message: &Message,
        envelope: &Envelope,
        recipients: &[AcceptedRecipient<Self::Recipient>],
    ) -> Vec<RecipientOutcome>;
}

/// The answer to one RCPT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientCheck<R> {
    /// A local mailbox (250 2.1.5).
    Accept(R),
    /// No such mailbox (550 5.1.1).
    Unknown,
    /// The mailbox exists but takes no mail, e.g. a non-active user
    /// (550 5.2.1).
    Disabled,
    /// Already over hard quota; refusing now spares the MTA the transfer
    /// (552 5.2.2). The store may also leave this to `deliver`.
    OverQuota,
    /// Lookup failed for now, e.g. LDAP unreachable (451 4.3.0).
    TempFail,
}

/// The result of delivering the message to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientOutcome {
    /// Durable in the recipient's store (250 2.0.0).
    Delivered,
    /// Over hard quota (552 5.2.2).
    OverQuota,
    /// Failed for now; the MTA retries this recipient (451 4.3.0).
    TempFail,
    /// Refused for good, e.g. an unparseable message (554 5.3.0).
    PermFail,
}

/// A recipient accepted at RCPT time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedRecipient<R> {
    /// The RCPT address.
    pub address: Mailbox,
    /// What [`Delivery::check_recipient`] resolved it to.
    pub target: R,
}

/// The transaction's envelope, besides the recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The name the client gave in LHLO.
    pub lhlo: String,
    /// MAIL FROM (the null path for bounces).
    pub sender: ReversePath,
    /// MAIL FROM `BODY=`, if given.
    pub body: Option<BodyType>,
    /// MAIL FROM `SMTPUTF8`.
    pub smtputf8: bool,
    /// MAIL FROM `SIZE=`, if given (the real size is `Message::len`).
    pub declared_size: Option<u64>,
}
