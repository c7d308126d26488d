//! rustls client configurations: a pinned CA plus an optional client certificate
//! (KC `sslkey_file` / `sslkey_pass` for SYSTEM logons between nodes).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ClientConfig;

use super::load::load_cert_chain_and_key;
use super::roots::load_roots;
use super::server::certified_key_error;
use super::{provider, TlsError};

/// What a TLS client needs. The server is verified against the given CA only (no
/// system roots), with host-name verification on the name passed when connecting.
///
/// Derives `Default` so callers can write `ClientTls { ca_file, ..Default::default() }`.
#[derive(Clone, Default)]
pub struct ClientTls {
    /// Pinned CA file.
    pub ca_file: Option<PathBuf>,
    /// Pinned CA directory.
    pub ca_dir: Option<PathBuf>,
    /// Client certificate (PEM chain); also holds the key when `client_key` is `None`
    /// (KC `sslkey_file`, a combined `client.pem`).
    pub client_cert: Option<PathBuf>,
    /// Separate client key file.
    pub client_key: Option<PathBuf>,
    /// Passphrase of an encrypted client key (KC `sslkey_pass`).
    pub key_pass: Option<String>,
    /// ALPN protocols offered, in preference order; empty: none.
    pub alpn: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("ca_file", &self.ca_file)
            .field("ca_dir", &self.ca_dir)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("key_pass", &self.key_pass.as_ref().map(|_| "********"))
            .field("alpn", &self.alpn)
            .finish()
    }
}

impl ClientTls {
    /// Builds a TLS 1.2 + 1.3 client configuration.
    ///
    /// Fails with [`TlsError::CaRequired`] without a CA: kc never trusts system roots
    /// between its own components.
    pub fn build(&self) -> Result<Arc<ClientConfig>, TlsError> {
        if self.ca_file.is_none() && self.ca_dir.is_none() {
            return Err(TlsError::CaRequired {
                purpose: "a TLS client (pinned CA)",
            });
        }
        let roots = load_roots(self.ca_file.as_deref(), self.ca_dir.as_deref())?;
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_root_certificates(roots);
        let mut config = match &self.client_cert {
            Some(cert) => {
                let (chain, key) = load_cert_chain_and_key(
                    cert,
                    self.client_key.as_deref(),
                    self.key_pass.as_deref(),
                )?;
                let key_path = self.client_key.as_deref().unwrap_or(cert);
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| certified_key_error(e, key_path))?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn.clone();
        Ok(Arc::new(config))
    }
}
