//! Loading trusted CAs from a file and/or a directory (`server_ssl_ca_file`,
//! `server_ssl_ca_path`, `ssl_verify_file`, `ssl_verify_path`).

use std::path::Path;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;

use super::load::read_pem;
use super::TlsError;

/// Most files read from a CA directory; `/etc/ssl/certs` has a few hundred.
const MAX_DIR_ENTRIES: usize = 10_000;

/// Builds a root store from a PEM CA file and/or every PEM file in a CA directory.
///
/// Every certificate of the CA file must be usable, since an administrator named it.
/// In the directory, files that are not PEM certificates (c_rehash leaves symlinks and
/// may sit next to CRLs or keys) are skipped with a debug log. At least one CA must
/// result.
pub fn load_roots(
    ca_file: Option<&Path>,
    ca_dir: Option<&Path>,
) -> Result<RootCertStore, TlsError> {
    load_roots_with_certs(ca_file, ca_dir).map(|(store, _)| store)
}

/// Like [`load_roots`], also returning the CA certificates themselves (for display
/// and for depth accounting).
pub fn load_roots_with_certs(
    ca_file: Option<&Path>,
    ca_dir: Option<&Path>,
) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), TlsError> {
    if ca_file.is_none() && ca_dir.is_none() {
        return Err(TlsError::CaRequired {
            purpose: "loading trusted CAs",
        });
    }
    let mut store = RootCertStore::empty();
    let mut certs = Vec::new();
    if let Some(file) = ca_file {
        for block in read_pem(file)? {
            if block.label != "CERTIFICATE" {
                continue;
            }
            let der = CertificateDer::from(block.der);
            store
                .add(der.clone())
                .map_err(|e| TlsError::InvalidCertificate {
                    path: file.to_path_buf(),
                    reason: e.to_string(),
                })?;
            certs.push(der);
        }
    }
    if let Some(dir) = ca_dir {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| TlsError::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .take(MAX_DIR_ENTRIES)
            .collect();
        paths.sort();
        for path in paths {
            // Follows symlinks (c_rehash's HASH.0 links) on purpose.
            if !path.is_file() {
                continue;
            }
            let blocks = match read_pem(&path) {
                Ok(b) => b,
                Err(e) => {
                    tracing::debug!(path = %path.display(), error = %e, "skipping file in CA directory");
                    continue;
                }
            };
            for block in blocks.into_iter().filter(|b| b.label == "CERTIFICATE") {
                let der = CertificateDer::from(block.der);
                match store.add(der.clone()) {
                    Ok(()) => certs.push(der),
                    Err(e) => {
                        tracing::debug!(path = %path.display(), error = %e, "skipping unusable CA certificate")
                    }
                }
            }
        }
    }
    if store.is_empty() {
        let what = match (ca_file, ca_dir) {
            (Some(f), Some(d)) => format!("{} or {}", f.display(), d.display()),
            (Some(f), None) => f.display().to_string(),
            (None, Some(d)) => d.display().to_string(),
            (None, None) => String::new(),
        };
        return Err(TlsError::NoCaCertificates { what });
    }
    Ok((store, certs))
}
