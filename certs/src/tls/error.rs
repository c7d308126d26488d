//! The error type of the TLS module.

use std::io;
use std::path::PathBuf;

use super::pem::PemError;

/// Everything that can go wrong loading TLS material, building a configuration or
/// verifying a certificate.
///
/// The verification variants ([`TlsError::UnknownIssuer`], [`TlsError::Expired`],
/// [`TlsError::NotValidForHost`], ...) are what [`super::map_verification_error`]
/// turns rustls' `CertificateError`s into, so an administrator reads the cause
/// rather than an enum name.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file is larger than the loader accepts.
    #[error("{}: file is larger than {limit} bytes", path.display())]
    FileTooLarge { path: PathBuf, limit: u64 },
    /// The PEM structure of a file is broken.
    #[error("{}: malformed PEM: {source}", path.display())]
    Pem {
        path: PathBuf,
        #[source]
        source: PemError,
    },
    /// A certificate file holds no `CERTIFICATE` block.
    #[error("{}: no certificate found (expected a PEM \"CERTIFICATE\" block)", path.display())]
    NoCertificate { path: PathBuf },
    /// A key file holds no private key block.
    #[error("{}: no private key found (expected a PEM \"PRIVATE KEY\", \"ENCRYPTED PRIVATE KEY\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\" block)", path.display())]
    NoPrivateKey { path: PathBuf },
    /// A key file holds more than one private key, so which one is meant is unclear.
    #[error("{}: more than one private key in the file", path.display())]
    MultiplePrivateKeys { path: PathBuf },
    /// The key is encrypted and no passphrase was configured.
    #[error("{}: the private key is encrypted and no passphrase was given", path.display())]
    PassphraseRequired { path: PathBuf },
    /// The passphrase does not decrypt the key.
    #[error("{}: wrong passphrase for the encrypted private key", path.display())]
    WrongPassphrase { path: PathBuf },
    /// The key uses OpenSSL's legacy PEM encryption (`Proc-Type: 4,ENCRYPTED`).
    #[error("{}: legacy OpenSSL-encrypted key (Proc-Type: 4,ENCRYPTED) is not supported; convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in OLD.pem -out NEW.pem`", path.display())]
    LegacyEncryptedKey { path: PathBuf },
    /// The key could not be decoded or is of a type rustls cannot use.
    #[error("{}: invalid private key: {reason}", path.display())]
    InvalidKey { path: PathBuf, reason: String },
    /// A certificate could not be parsed or used.
    #[error("{}: invalid certificate: {reason}", path.display())]
    InvalidCertificate { path: PathBuf, reason: String },
    /// The private key does not belong to the first certificate of the chain.
    #[error("{}: the private key does not match the certificate", path.display())]
    KeyMismatch { path: PathBuf },
    /// No usable CA certificate was found.
    #[error("no CA certificates found in {what}")]
    NoCaCertificates { what: String },
    /// Client-certificate verification or a pinned CA was asked for without a CA.
    #[error("a CA file or CA directory is required for {purpose}")]
    CaRequired { purpose: &'static str },
    /// The host name to verify against is not a valid DNS name or IP address.
    #[error("invalid host name {name:?}")]
    InvalidHostName { name: String },
    /// The peer certificate presented to a check could not be parsed.
    #[error("peer certificate: {reason}")]
    PeerCertificate { reason: String },

    /// Verification: the chain does not lead to a trusted CA.
    #[error("certificate from another CA (unknown issuer): no trusted CA signed it")]
    UnknownIssuer,
    /// Verification: `notAfter` lies in the past.
    #[error("certificate expired{}", fmt_times("until", not_after, now))]
    Expired {
        not_after: Option<String>,
        now: Option<String>,
    },
    /// Verification: `notBefore` lies in the future.
    #[error("certificate is not yet valid{}", fmt_times("from", not_before, now))]
    NotYetValid {
        not_before: Option<String>,
        now: Option<String>,
    },
    /// Verification: the certificate names neither the host nor an IP it was checked against.
    #[error("certificate is not valid for host {host}{}", fmt_presented(presented))]
    NotValidForHost {
        host: String,
        presented: Vec<String>,
    },
    /// Verification: the extended key usage does not allow this use (server or client).
    #[error("certificate is not allowed for this purpose (extended key usage): {detail}")]
    InvalidPurpose { detail: String },
    /// Verification: a signature in the chain is wrong. webpki reports this (rather than
    /// an unknown issuer) when a trusted CA has the issuer's *name* but not its key.
    #[error("certificate signature does not verify: it was signed by another CA with the same name as a trusted one, or it is corrupted")]
    BadSignature,
    /// Verification: the certificate was revoked.
    #[error("certificate has been revoked")]
    Revoked,
    /// Verification: the peer sent more intermediates than the configured verify depth.
    #[error(
        "certificate chain too long: {intermediates} intermediate(s), verify depth is {depth}"
    )]
    ChainTooLong { depth: u8, intermediates: usize },
    /// Verification failed for another reason.
    #[error("certificate rejected: {0}")]
    Rejected(String),

    /// A verifier could not be built (for example: an empty CA store).
    #[error("TLS configuration: {0}")]
    Config(String),
    /// Any other rustls error.
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

impl TlsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        TlsError::Io {
            path: path.into(),
            source,
        }
    }
}

fn fmt_times(word: &str, bound: &Option<String>, now: &Option<String>) -> String {
    match (bound, now) {
        (Some(b), Some(n)) => format!(" (valid {word} {b}, now {n})"),
        (Some(b), None) => format!(" (valid {word} {b})"),
        _ => String::new(),
    }
}

fn fmt_presented(presented: &[String]) -> String {
    if presented.is_empty() {
        String::new()
    } else {
        format!(" (it is valid for: {})", presented.join(", "))
    }
}
