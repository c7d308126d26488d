//! Parser for KC-style `key = value` configuration files, the per-component
//! option schemas, and the service skeleton every kc binary shares.
//!
//! Loading is strict: every assignment is checked against the component's
//! [`Schema`] when the file is read, so the typed accessors on [`Config`]
//! never fail at run time.

mod bind;
mod config;
mod error;
mod origin;
mod parser;
pub mod schema;
pub mod service;
mod value;

pub use bind::LISTEN_BACKLOG;
pub use config::Config;
pub use error::ConfigError;
pub use origin::Origin;
pub use parser::{parse_document, parse_document_as, Assignment, Document, Reader};
pub use schema::{opt, schemas, LegacyListen, LegacyUri, OptionSpec, Schema};
pub use value::{ListenAddr, TimeUnit, Value, ValueKind};
