//! rustls server configurations for kc listeners.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

use super::load::load_cert_chain_and_key;
use super::roots::load_roots;
use super::verify::DepthLimitedVerifier;
use super::{provider, TlsError};

/// Whether a listener asks for client certificates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// No certificate is requested.
    #[default]
    Off,
    /// A certificate is requested; none is fine, but one that is sent must chain to the
    /// CA (KC's storage server listener: verify-peer without fail-if-no-peer-cert).
    Optional,
    /// A certificate chaining to the CA is mandatory.
    Required,
}

/// Everything a TLS listener needs, as read from a KC-style configuration.
///
/// Derives `Default` so callers can write `ServerTls { cert_file, ..Default::default() }`.
#[derive(Clone, Default)]
pub struct ServerTls {
    /// PEM certificate chain, leaf first; also holds the key when `key_file` is `None`
    /// (KC `server_ssl_key_file`, a combined `server.pem`).
    pub cert_file: PathBuf,
    /// Separate PEM key file, if any.
    pub key_file: Option<PathBuf>,
    /// Passphrase of an `ENCRYPTED PRIVATE KEY` (KC `server_ssl_key_pass`).
    pub key_pass: Option<String>,
    /// CA file for client verification (KC `server_ssl_ca_file`, `ssl_verify_file`).
    pub ca_file: Option<PathBuf>,
    /// CA directory for client verification (KC `server_ssl_ca_path`, `ssl_verify_path`).
    pub ca_dir: Option<PathBuf>,
    /// Client-certificate policy; `Optional` and `Required` need a CA file or directory.
    pub client_auth: ClientAuth,
    /// Most intermediates a client chain may carry (OpenSSL `verify_depth` semantics,
    /// counted on what the client sends). `None`: no extra limit.
    pub verify_depth: Option<u8>,
    /// ALPN protocols offered, in preference order (e.g. `b"h2"`, `b"http/1.1"`).
    pub alpn: Vec<Vec<u8>>,
    /// Refuse TLS 1.2 (`tls_min_proto = tls1.3`); TLS 1.2 and 1.3 otherwise.
    pub tls13_only: bool,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("key_pass", &self.key_pass.as_ref().map(|_| "********"))
            .field("ca_file", &self.ca_file)
            .field("ca_dir", &self.ca_dir)
            .field("client_auth", &self.client_auth)
            .field("verify_depth", &self.verify_depth)
            .field("alpn", &self.alpn)
            .field("tls13_only", &self.tls13_only)
            .finish()
    }
}

/// Maps rustls' key consistency errors to [`TlsError::KeyMismatch`] for `path`.
pub(crate) fn certified_key_error(e: rustls::Error, path: &Path) -> TlsError {
    match e {
        rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
            path: path.to_path_buf(),
        },
        other => TlsError::InvalidKey {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    }
}

impl ServerTls {
    /// Loads the certificate chain and key and checks that they belong together.
    pub fn certified_key(&self) -> Result<Arc<CertifiedKey>, TlsError> {
        let (chain, key) = load_cert_chain_and_key(
            &self.cert_file,
            self.key_file.as_deref(),
            self.key_pass.as_deref(),
        )?;
        let key_path = self.key_file.as_deref().unwrap_or(&self.cert_file);
        CertifiedKey::from_der(chain, key, &provider())
            .map(Arc::new)
            .map_err(|e| certified_key_error(e, key_path))
    }

    /// Builds the client verifier for `client_auth`, or `None` for [`ClientAuth::Off`].
    pub fn client_verifier(&self) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsError> {
        if self.client_auth == ClientAuth::Off {
            return Ok(None);
        }
        if self.ca_file.is_none() && self.ca_dir.is_none() {
            return Err(TlsError::CaRequired {
                purpose: "client certificate verification",
            });
        }
        let roots = load_roots(self.ca_file.as_deref(), self.ca_dir.as_deref())?;
        let mut builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
        if self.client_auth == ClientAuth::Optional {
            builder = builder.allow_unauthenticated();
        }
        let verifier = builder
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        Ok(Some(match self.verify_depth {
            Some(depth) => Arc::new(DepthLimitedVerifier {
                inner: verifier,
                depth,
            }),
            None => verifier,
        }))
    }

    /// Builds a TLS 1.2 + 1.3 server configuration with a fixed certificate.
    pub fn build(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let key = self.certified_key()?;
        self.build_with_resolver(Arc::new(FixedCert(key)))
    }

    /// Builds the configuration around a caller-supplied certificate resolver (used by
    /// [`super::ReloadingServerConfig`]); the files are read only for the client verifier.
    pub fn build_with_resolver(
        &self,
        resolver: Arc<dyn ResolvesServerCert>,
    ) -> Result<Arc<ServerConfig>, TlsError> {
        let versions: &[&'static rustls::SupportedProtocolVersion] = if self.tls13_only {
            &[&rustls::version::TLS13]
        } else {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        };
        let builder =
            ServerConfig::builder_with_provider(provider()).with_protocol_versions(versions)?;
        let builder = match self.client_verifier()? {
            Some(v) => builder.with_client_cert_verifier(v),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(resolver);
        config.alpn_protocols = self.alpn.clone();
        Ok(Arc::new(config))
    }
}

/// A resolver that always returns the same certificate (SNI is not used by kc).
#[derive(Debug)]
struct FixedCert(Arc<CertifiedKey>);

impl ResolvesServerCert for FixedCert {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}
