//! The error type of the certificate authority.

use std::io;
use std::path::PathBuf;

use crate::tls::TlsError;

/// Why a CA operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An output exists and `--force` was not given.
    #[error("{} already exists; refusing to overwrite it (use --force)", path.display())]
    Exists { path: PathBuf },
    /// No CA in the directory.
    #[error("no CA in {} (create one with `kc-certs ca --cn NAME`)", dir.display())]
    NoCa { dir: PathBuf },
    /// The CA directory exists but lacks a file.
    #[error("CA in {} is incomplete: {} is missing", dir.display(), missing.display())]
    CaIncomplete { dir: PathBuf, missing: PathBuf },
    /// The serial file is not a hexadecimal number.
    #[error("{}: not a hexadecimal serial number", path.display())]
    BadSerial { path: PathBuf },
    /// A subjectAltName is neither an IP address nor a DNS name.
    #[error("invalid subjectAltName {value:?}: {reason}")]
    InvalidSan { value: String, reason: String },
    /// A subject field is empty or unusable.
    #[error("invalid {field}: {reason}")]
    InvalidSubject { field: &'static str, reason: String },
    /// The leaf's OU equals the CA's; OpenSSL-based setups (and the manuals) need them to differ.
    #[error("the OU {ou:?} equals the CA's OU; the manuals require a different OU (use --ou)")]
    SameOu { ou: String },
    /// Key generation failed.
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
    /// The key type is not supported by the signer (ring).
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// Encrypting a private key failed.
    #[error("encrypting the private key failed: {0}")]
    Encryption(String),
    /// Certificate generation (rcgen) failed.
    #[error("certificate generation failed: {0}")]
    Certificate(String),
    /// A problem loading PEM material.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

impl AuthorityError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        AuthorityError::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<rcgen::Error> for AuthorityError {
    fn from(e: rcgen::Error) -> Self {
        AuthorityError::Certificate(e.to_string())
    }
}
