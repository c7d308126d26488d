//! Listener TLS: several certificates chosen by SNI, client-certificate
//! policy per listener, and reloading on SIGHUP.
//!
//! Each configured certificate is a [`ReloadingServerConfig`] from kc-certs;
//! [`SniResolver`] picks among them by the names in the certificates, so a
//! reload that changes a certificate's names is picked up too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kc_certs::tls::{ClientAuth, ReloadingServerConfig, ServerTls, TlsError};
use parking_lot::Mutex;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// One served certificate.
#[derive(Debug, Clone, Default)]
pub struct CertEntry {
    /// SNI names it is served for; empty: the names in the certificate.
    pub hosts: Vec<String>,
    /// PEM certificate chain (also the key when `key` is `None`).
    pub cert: PathBuf,
    /// Separate PEM key file.
    pub key: Option<PathBuf>,
}

/// The certificate files of the listeners.
#[derive(Debug, Clone, Default)]
pub struct CertFiles {
    /// The default certificate first, then the SNI certificates.
    pub certs: Vec<CertEntry>,
    /// Passphrase of encrypted keys.
    pub key_pass: Option<String>,
    /// CA file for client certificates.
    pub ca_file: Option<PathBuf>,
    /// CA directory for client certificates.
    pub ca_dir: Option<PathBuf>,
    /// Most intermediates a client chain may carry; `None`: no limit.
    pub verify_depth: Option<u8>,
    /// `tls_min_proto = tls1.3`: refuse TLS 1.2 (mail listeners and HTTP/3;
    /// HTTP/3 is TLS 1.3 anyway).
    pub tls13_only: bool,
}

impl CertFiles {
    fn spec(&self, cert: &Path, key: &Option<PathBuf>, auth: ClientAuth) -> ServerTls {
        ServerTls {
            cert_file: cert.to_path_buf(),
            key_file: key.clone(),
            key_pass: self.key_pass.clone(),
            ca_file: self.ca_file.clone(),
            ca_dir: self.ca_dir.clone(),
            client_auth: auth,
            verify_depth: self.verify_depth,
            alpn: Vec::new(),
            tls13_only: self.tls13_only,
        }
    }

    /// Loads every certificate; fails on the first unusable one.
    pub fn load(&self) -> Result<SniResolver, TlsError> {
        let mut entries = Vec::new();
        for c in &self.certs {
            let cfg = ReloadingServerConfig::new(self.spec(&c.cert, &c.key, ClientAuth::Off))?;
            let hosts = c.hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
            entries.push((hosts, Arc::new(cfg)));
        }
        if entries.is_empty() {
            return Err(TlsError::Config(
                "no ssl_certificate_file configured".into(),
            ));
        }
        Ok(SniResolver {
            entries,
            names: Mutex::new(HashMap::new()),
        })
    }

    /// The client verifier of a listener with policy `auth` (`None` for off).
    pub fn verifier(
        &self,
        auth: ClientAuth,
    ) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsError> {
        let Some(c) = self.certs.first() else {
            return Ok(None);
        };
        self.spec(&c.cert, &c.key, auth).client_verifier()
    }

    /// A complete rustls server configuration (for the HTTP/3 listener),
    /// using `resolver` for certificates.
    pub fn server_config(
        &self,
        auth: ClientAuth,
        resolver: Arc<SniResolver>,
        alpn: Vec<Vec<u8>>,
    ) -> Result<rustls::ServerConfig, TlsError> {
        let c = self
            .certs
            .first()
            .ok_or_else(|| TlsError::Config("no ssl_certificate_file configured".into()))?;
        let mut spec = self.spec(&c.cert, &c.key, auth);
        spec.alpn = alpn;
        let cfg = spec.build_with_resolver(resolver)?;
        Ok((*cfg).clone())
    }
}

/// Parses `ssl_verify_client`: a bare mode applies to every listener,
/// `PORT:MODE` entries override it for one port.
pub fn parse_verify_client(option: &str) -> Result<(ClientAuth, HashMap<u16, ClientAuth>), String> {
    fn mode(s: &str) -> Option<ClientAuth> {
        match s.to_ascii_lowercase().as_str() {
            "off" | "no" | "none" => Some(ClientAuth::Off),
            "optional" => Some(ClientAuth::Optional),
            "required" | "yes" | "on" => Some(ClientAuth::Required),
            _ => None,
        }
    }
    let mut default = ClientAuth::Off;
    let mut ports = HashMap::new();
    for item in option.split_whitespace() {
        match item.split_once(':') {
            Some((port, m)) => {
                let port: u16 = port.parse().map_err(|_| format!("'{item}': bad port"))?;
                ports.insert(port, mode(m).ok_or_else(|| format!("'{item}': bad mode"))?);
            }
            None => {
                default = mode(item)
                    .ok_or_else(|| format!("'{item}': expected off, optional or required"))?
            }
        }
    }
    Ok((default, ports))
}

/// Picks a certificate by SNI; the first certificate is the default.
pub struct SniResolver {
    entries: Vec<(Vec<String>, Arc<ReloadingServerConfig>)>,
    // Names per certificate, keyed by the certificate's DER bytes so that a
    // reloaded certificate is looked at again.
    names: Mutex<HashMap<Vec<u8>, Vec<String>>>,
}

impl std::fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SniResolver")
            .field("certificates", &self.entries.len())
            .finish()
    }
}

/// DNS names a certificate is valid for: subjectAltName DNS entries, or the
/// subject CN when there are none. Lowercase.
pub fn cert_names(der: &[u8]) -> Vec<String> {
    use x509_parser::prelude::*;
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for gn in &san.value.general_names {
            if let GeneralName::DNSName(n) = gn {
                names.push(n.to_ascii_lowercase());
            }
        }
    }
    if names.is_empty() {
        for cn in cert.subject().iter_common_name() {
            if let Ok(s) = cn.as_str() {
                names.push(s.to_ascii_lowercase());
            }
        }
    }
    names
}

/// Whether `host` matches a certificate name (`*.example.com` covers one label).
pub fn name_matches(pattern: &str, host: &str) -> bool {
    if let Some(suffix) = pattern.strip_prefix("*.") {
        return host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix));
    }
    pattern.eq_ignore_ascii_case(host)
}

impl SniResolver {
    /// Reloads every certificate (SIGHUP). Errors leave that certificate's
    /// previous material in use.
    pub fn reload(&self) -> Vec<TlsError> {
        let errors = self
            .entries
            .iter()
            .filter_map(|(_, e)| e.reload().err())
            .collect();
        self.names.lock().clear();
        errors
    }

    fn pick(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let keys: Vec<(&Vec<String>, Arc<CertifiedKey>)> = self
            .entries
            .iter()
            .map(|(hosts, e)| (hosts, e.resolver().current()))
            .collect();
        if let Some(host) = sni {
            if let Some((_, k)) = keys
                .iter()
                .find(|(hosts, _)| hosts.iter().any(|n| name_matches(n, host)))
            {
                return Some(k.clone());
            }
            let mut cache = self.names.lock();
            for (hosts, key) in &keys {
                if !hosts.is_empty() {
                    continue;
                }
                let Some(der) = key.cert.first() else {
                    continue;
                };
                let names = cache
                    .entry(der.as_ref().to_vec())
                    .or_insert_with(|| cert_names(der.as_ref()));
                if names.iter().any(|n| name_matches(n, host)) {
                    return Some(key.clone());
                }
            }
        }
        keys.into_iter().next().map(|(_, k)| k)
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.pick(hello.server_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matching() {
        assert!(name_matches("*.example.com", "mail.example.com"));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(name_matches("Edge.Example", "edge.example"));
    }

    #[test]
    fn verify_client_option() {
        let (d, p) = parse_verify_client("optional 8443:required 237:off").unwrap();
        assert_eq!(d, ClientAuth::Optional);
        assert_eq!(p.get(&8443), Some(&ClientAuth::Required));
        assert_eq!(p.get(&237), Some(&ClientAuth::Off));
        assert!(parse_verify_client("maybe").is_err());
        assert!(parse_verify_client("x:off").is_err());
    }
}
