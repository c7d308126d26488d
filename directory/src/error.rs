//! The one error type every directory operation returns.
//!
//! It is `Clone` because a single failed source search is handed to every
//! caller that was waiting on it (single-flight), and negative answers are
//! cached.

use std::fmt;

/// Which kind of directory object a lookup was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    User,
    Group,
    Server,
    Company,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::Server => "server",
            ObjectKind::Company => "company",
        })
    }
}

/// Why a directory operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirError {
    /// No entry matched the name (KC: "not found").
    #[error("{kind} '{name}' not found")]
    NotFound { kind: ObjectKind, name: String },
    /// More than one entry matched where KC requires exactly one ("too many objects").
    #[error("{kind} '{name}' is ambiguous: {count} directory entries match")]
    Ambiguous {
        kind: ObjectKind,
        name: String,
        count: usize,
    },
    /// Wrong password, empty password, or an account that may not log in.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The source could not be reached or answered with an error; retrying later may help.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
    /// The ldap.cfg settings are unusable (no source, bad TLS material, bad propmap).
    #[error("directory configuration: {0}")]
    Config(String),
    /// An entry lacks an attribute KC treats as obligatory, or has an unusable value.
    #[error("invalid directory entry '{dn}': {reason}")]
    InvalidEntry { dn: String, reason: String },
    /// The LDIF file could not be read or parsed.
    #[error("LDIF {0}")]
    Ldif(String),
    /// A filter string (configured, or handed to the LDIF source) does not parse.
    #[error("invalid LDAP filter: {0}")]
    Filter(String),
}

impl DirError {
    /// Negative answers are cached with the negative TTL; transient errors are not cached.
    pub fn is_negative_answer(&self) -> bool {
        matches!(
            self,
            DirError::NotFound { .. } | DirError::Ambiguous { .. } | DirError::InvalidEntry { .. }
        )
    }
}
