//! Loading certificates and private keys from PEM files (KC's `server_ssl_key_file`,
//! `sslkey_file` and friends), including passphrase-protected PKCS#8 keys.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use pkcs8::der::Decode;
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};

use super::pem::{self, PemBlock};
use super::TlsError;

/// The largest file any loader reads: CA bundles are well below this.
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// Reads a whole file, refusing anything larger than `limit` bytes.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, TlsError> {
    let file = File::open(path).map_err(|e| TlsError::io(path, e))?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| TlsError::io(path, e))?;
    if buf.len() as u64 > limit {
        return Err(TlsError::FileTooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(buf)
}

pub(crate) fn read_pem(path: &Path) -> Result<Vec<PemBlock>, TlsError> {
    let bytes = read_limited(path, MAX_FILE_SIZE)?;
    pem::parse(&bytes).map_err(|source| TlsError::Pem {
        path: path.to_path_buf(),
        source,
    })
}

/// Loads every `CERTIFICATE` block of a PEM file, leaf first as written.
pub fn load_cert_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = read_pem(path)?
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| CertificateDer::from(b.der))
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

fn is_key_label(label: &str) -> bool {
    matches!(
        label,
        "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY"
    )
}

/// Decodes a single private key block, decrypting PKCS#8 with `pass`.
pub(crate) fn decode_key(
    block: PemBlock,
    pass: Option<&str>,
    path: &Path,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    if block.is_legacy_encrypted() {
        return Err(TlsError::LegacyEncryptedKey {
            path: path.to_path_buf(),
        });
    }
    match block.label.as_str() {
        "PRIVATE KEY" => Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(block.der))),
        "RSA PRIVATE KEY" => Ok(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(block.der))),
        "EC PRIVATE KEY" => Ok(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(block.der))),
        "ENCRYPTED PRIVATE KEY" => {
            // KC's default server_ssl_key_pass is "server"; an empty option means "none".
            let pass =
                pass.filter(|p| !p.is_empty())
                    .ok_or_else(|| TlsError::PassphraseRequired {
                        path: path.to_path_buf(),
                    })?;
            decrypt_pkcs8(&block.der, pass, path)
        }
        other => Err(TlsError::InvalidKey {
            path: path.to_path_buf(),
            reason: format!("unexpected PEM block {other:?}"),
        }),
    }
}

fn decrypt_pkcs8(der: &[u8], pass: &str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(der).map_err(|e| TlsError::InvalidKey {
        path: path.to_path_buf(),
        reason: format!("malformed encrypted PKCS#8: {e}"),
    })?;
    let doc = info.decrypt(pass.as_bytes()).map_err(|e| match e {
        // pkcs5 0.7 reports a bad padding (the usual wrong-passphrase symptom) as
        // EncryptFailed, so both mean "wrong passphrase".
        pkcs8::Error::EncryptedPrivateKey(
            pkcs8::pkcs5::Error::DecryptFailed | pkcs8::pkcs5::Error::EncryptFailed,
        ) => {
            TlsError::WrongPassphrase {
                path: path.to_path_buf(),
            }
        }
        // A wrong passphrase occasionally yields valid padding and then garbage DER.
        pkcs8::Error::Asn1(_) | pkcs8::Error::KeyMalformed => TlsError::WrongPassphrase {
            path: path.to_path_buf(),
        },
        other => TlsError::InvalidKey {
            path: path.to_path_buf(),
            reason: format!("cannot decrypt PKCS#8 ({other}); supported: PBES2 with PBKDF2 or scrypt and AES-CBC"),
        },
    })?;
    // Decrypted garbage can pass the padding check; the plaintext must be a PrivateKeyInfo.
    if pkcs8::PrivateKeyInfo::from_der(doc.as_bytes()).is_err() {
        return Err(TlsError::WrongPassphrase {
            path: path.to_path_buf(),
        });
    }
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        doc.as_bytes().to_vec(),
    )))
}

/// Loads the one private key in a PEM file (plain or encrypted PKCS#8, PKCS#1, SEC1).
///
/// Other blocks (certificates in a combined file) are ignored.
pub fn load_private_key(
    path: &Path,
    pass: Option<&str>,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let mut keys = read_pem(path)?
        .into_iter()
        .filter(|b| is_key_label(&b.label));
    let first = keys.next().ok_or_else(|| TlsError::NoPrivateKey {
        path: path.to_path_buf(),
    })?;
    if keys.next().is_some() {
        return Err(TlsError::MultiplePrivateKeys {
            path: path.to_path_buf(),
        });
    }
    decode_key(first, pass, path)
}

/// Loads a certificate chain and its private key.
///
/// With `key == None` the key is read from `cert` (KC's combined `server.pem`:
/// key then certificate). `pass` decrypts an `ENCRYPTED PRIVATE KEY` (KC options
/// `server_ssl_key_pass`, `sslkey_pass`); it is ignored for unencrypted keys.
/// That the key belongs to the leaf certificate is checked when a configuration is built.
pub fn load_cert_chain_and_key(
    cert: &Path,
    key: Option<&Path>,
    pass: Option<&str>,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let chain = load_cert_chain(cert)?;
    let key = load_private_key(key.unwrap_or(cert), pass)?;
    Ok((chain, key))
}
