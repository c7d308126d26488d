//! Format conversions: PEM to DER (Windows Mobile/Phone, manual §5.12.8) and combining
//! key + certificate + chain into one PEM (the form KC's `*_key_file` options take).

use std::path::Path;

use rustls::sign::CertifiedKey;

use super::files::{write_public, write_secret};
use super::AuthorityError;
use crate::tls::pem::{self, PemBlock};
use crate::tls::{load_cert_chain, provider, read_limited, TlsError, MAX_FILE_SIZE};

/// Writes the first certificate of a PEM file as binary DER (`openssl x509 -outform DER`).
pub fn pem_to_der(input: &Path, output: &Path, force: bool) -> Result<(), AuthorityError> {
    let chain = load_cert_chain(input)?;
    let first = chain.first().ok_or_else(|| TlsError::NoCertificate {
        path: input.to_path_buf(),
    })?;
    write_public(output, first.as_ref(), force)
}

fn read_blocks(path: &Path) -> Result<Vec<PemBlock>, AuthorityError> {
    let bytes = read_limited(path, MAX_FILE_SIZE)?;
    pem::parse(&bytes).map_err(|source| {
        TlsError::Pem {
            path: path.to_path_buf(),
            source,
        }
        .into()
    })
}

/// Writes `key`, then `cert`, then every certificate of `chain` into `output` (0600).
///
/// The key block is copied as it is (an encrypted key stays encrypted). An
/// unencrypted key is checked against the certificate; an encrypted one is checked
/// when `pass` is given.
pub fn combine(
    key: &Path,
    cert: &Path,
    chain: &[&Path],
    output: &Path,
    pass: Option<&str>,
    force: bool,
) -> Result<(), AuthorityError> {
    let key_blocks: Vec<PemBlock> = read_blocks(key)?
        .into_iter()
        .filter(|b| b.label.ends_with("PRIVATE KEY"))
        .collect();
    let key_block = match key_blocks.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(TlsError::NoPrivateKey {
                path: key.to_path_buf(),
            }
            .into())
        }
        _ => {
            return Err(TlsError::MultiplePrivateKeys {
                path: key.to_path_buf(),
            }
            .into())
        }
    };
    if key_block.is_legacy_encrypted() {
        return Err(TlsError::LegacyEncryptedKey {
            path: key.to_path_buf(),
        }
        .into());
    }
    let mut certs = load_cert_chain(cert)?;
    for extra in chain {
        certs.extend(load_cert_chain(extra)?);
    }
    if key_block.label != "ENCRYPTED PRIVATE KEY" || pass.is_some() {
        let der = crate::tls::load_private_key(key, pass)?;
        CertifiedKey::from_der(certs.clone(), der, &provider()).map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
                path: key.to_path_buf(),
            },
            other => TlsError::InvalidKey {
                path: key.to_path_buf(),
                reason: other.to_string(),
            },
        })?;
    }
    let mut out = pem::encode(&key_block.label, &key_block.der);
    for c in &certs {
        out.push_str(&pem::encode("CERTIFICATE", c.as_ref()));
    }
    write_secret(output, out.as_bytes(), force)
}
