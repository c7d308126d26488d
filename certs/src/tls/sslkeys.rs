//! KC's `sslkeys_path` rule: a client certificate logs on (as any user it names,
//! SYSTEM included) when its public key equals one of the PEM public keys in a
//! directory. Subject, CN and serial are deliberately not compared, as in KC.

use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;
use subtle::ConstantTimeEq;

use super::load::read_limited;
use super::pem;
use super::TlsError;

/// Public key files are tiny; anything larger is not one.
const MAX_KEY_FILE: u64 = 64 * 1024;
/// Most directory entries examined per check.
const MAX_ENTRIES: usize = 10_000;

/// The DER SubjectPublicKeyInfo of a certificate.
pub fn spki_of_certificate(cert: &CertificateDer<'_>) -> Result<Vec<u8>, TlsError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| {
        TlsError::PeerCertificate {
            reason: format!("cannot parse certificate: {e}"),
        }
    })?;
    Ok(parsed.tbs_certificate.subject_pki.raw.to_vec())
}

/// The trusted public keys of one `sslkeys_path` directory.
///
/// The directory is scanned on every check, as KC does, so adding or removing a key
/// file takes effect at the next logon without a reload.
#[derive(Debug, Clone)]
pub struct SslKeys {
    dir: PathBuf,
}

impl SslKeys {
    /// Uses `dir` (KC `sslkeys_path`, default `/etc/kopano/sslkeys`).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The directory checked.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The first key file (in name order) whose `PUBLIC KEY` equals the peer
    /// certificate's public key, or `None`.
    ///
    /// Files that are not PEM public keys are skipped with an info log, as KC does.
    /// An unreadable directory or an unparsable peer certificate is an error.
    pub fn matching_key(&self, peer: &CertificateDer<'_>) -> Result<Option<PathBuf>, TlsError> {
        let wanted = spki_of_certificate(peer)?;
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(|e| TlsError::io(&self.dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .take(MAX_ENTRIES)
            .collect();
        paths.sort();
        for path in paths {
            if !path.is_file() {
                continue;
            }
            let keys = match read_limited(&path, MAX_KEY_FILE).and_then(|b| {
                pem::parse(&b).map_err(|source| TlsError::Pem {
                    path: path.clone(),
                    source,
                })
            }) {
                Ok(blocks) => blocks
                    .into_iter()
                    .filter(|b| b.label == "PUBLIC KEY")
                    .collect::<Vec<_>>(),
                Err(e) => {
                    tracing::info!(path = %path.display(), error = %e, "sslkeys: skipping unreadable file");
                    continue;
                }
            };
            if keys.is_empty() {
                tracing::info!(path = %path.display(), "sslkeys: no PUBLIC KEY in file, skipped");
                continue;
            }
            for key in keys {
                if key.der.len() == wanted.len() && bool::from(key.der.ct_eq(&wanted)) {
                    return Ok(Some(path));
                }
            }
        }
        Ok(None)
    }
}
