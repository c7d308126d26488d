//! The kc store API (`/kc-store/v1/`, documented in `store-api/API.md`): the
//! HTTP + JSON interface between a node (kc-server) and the gateways beside it.
//!
//! Both sides build on this crate, so each shape of the protocol is defined
//! once:
//! - [`wire`]: every JSON request and answer as a serde type;
//! - [`frames`]: the bulk body answer (`application/x-kc-bodies`);
//! - [`status`]: the one table between HTTP statuses and store-API errors,
//!   and how KC error codes ([`kcerr`]) map onto it;
//! - [`client`]: the gateways' client (SOAP logon, sessions, every call).
//!
//! The crate knows nothing of storage, directories or passwords: it depends
//! on kc-certs (TLS) and the HTTP stack only.

pub mod client;
pub mod frames;
pub mod kcerr;
pub mod status;
pub mod wire;

pub use kcerr::KcErr;
pub use status::ErrorKind;
pub use wire::FlagOp;

/// The prefix of the store API on every listener of a node.
pub const STORE_PREFIX: &str = "/kc-store/v1/";
/// Header carrying the session id of a SOAP `logon` (decimal).
pub const SESSION_HEADER: &str = "x-kc-session";
/// Header of a listing: the folder's UIDVALIDITY.
pub const UID_VALIDITY_HEADER: &str = "kc-uid-validity";
/// Header of a listing: the folder's next UID; every listed UID is below it.
pub const UID_NEXT_HEADER: &str = "kc-uid-next";
/// Header of a fetched message or header block: its change number.
pub const MODSEQ_HEADER: &str = "kc-modseq";

/// Content type of JSON answers and request bodies.
pub const JSON_TYPE: &str = "application/json";
/// Content type of listings and change logs (one JSON object per line).
pub const NDJSON_TYPE: &str = "application/x-ndjson";
/// Content type of a whole message.
pub const MESSAGE_TYPE: &str = "message/rfc822";
/// Content type of a header-only fetch (`part=header`; RFC 6522).
pub const HEADER_TYPE: &str = "text/rfc822-headers";
/// Content type of a store property value.
pub const PROP_TYPE: &str = "application/octet-stream";

/// Largest message accepted by an append.
pub const MAX_APPEND: usize = 64 << 20;
/// Largest JSON request body (bulk UID lists) and groupware object.
pub const MAX_JSON: usize = 16 << 20;
/// Most rows in one list or changes answer (also the default), and most
/// UIDs in one bulk call.
pub const MAX_ROWS: usize = 100_000;
/// Largest store property value.
pub const MAX_PROP: usize = 1 << 20;
/// Longest `changes?wait=` the node honours, in seconds.
pub const MAX_WAIT_SECS: u64 = 300;
