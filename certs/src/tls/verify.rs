//! Certificate verification with the same rustls/webpki verifiers the services use,
//! and the mapping of rustls' errors to readable [`TlsError`]s.

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::{
    verify_server_cert_signed_by_trust_anchor, verify_server_name, WebPkiServerVerifier,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::{provider, TlsError};

/// What a certificate is checked for: the extended key usage differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A TLS server (serverAuth), as a client verifies it.
    Server,
    /// A TLS client (clientAuth), as a server with client verification verifies it.
    Client,
}

pub(crate) fn format_unix(t: UnixTime) -> String {
    let fmt =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    i64::try_from(t.as_secs())
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|dt| dt.format(&fmt).ok())
        .unwrap_or_else(|| format!("@{}", t.as_secs()))
}

fn clean_presented(name: &str) -> String {
    name.strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
        .map(str::to_string)
        .unwrap_or_else(|| name.to_string())
}

/// Turns a rustls verification error into a readable [`TlsError`].
///
/// `host` is the name that was checked, used when rustls gives no context.
pub fn map_verification_error(err: rustls::Error, host: Option<&str>) -> TlsError {
    #[allow(deprecated)]
    match err {
        rustls::Error::InvalidCertificate(cert_err) => match cert_err {
            CertificateError::UnknownIssuer => TlsError::UnknownIssuer,
            CertificateError::Expired => TlsError::Expired {
                not_after: None,
                now: None,
            },
            CertificateError::ExpiredContext { time, not_after } => TlsError::Expired {
                not_after: Some(format_unix(not_after)),
                now: Some(format_unix(time)),
            },
            CertificateError::NotValidYet => TlsError::NotYetValid {
                not_before: None,
                now: None,
            },
            CertificateError::NotValidYetContext { time, not_before } => TlsError::NotYetValid {
                not_before: Some(format_unix(not_before)),
                now: Some(format_unix(time)),
            },
            CertificateError::NotValidForName => TlsError::NotValidForHost {
                host: host.unwrap_or("?").to_string(),
                presented: Vec::new(),
            },
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => TlsError::NotValidForHost {
                host: host
                    .map(str::to_string)
                    .unwrap_or_else(|| expected.to_str().into_owned()),
                presented: presented.iter().map(|p| clean_presented(p)).collect(),
            },
            CertificateError::InvalidPurpose => TlsError::InvalidPurpose {
                detail: "extended key usage does not allow this use".into(),
            },
            CertificateError::InvalidPurposeContext {
                required,
                presented,
            } => TlsError::InvalidPurpose {
                detail: format!("required {required:?}, certificate allows {presented:?}"),
            },
            CertificateError::BadSignature => TlsError::BadSignature,
            CertificateError::Revoked => TlsError::Revoked,
            CertificateError::Other(other) => match other.0.downcast_ref::<TlsError>() {
                Some(TlsError::ChainTooLong {
                    depth,
                    intermediates,
                }) => TlsError::ChainTooLong {
                    depth: *depth,
                    intermediates: *intermediates,
                },
                _ => TlsError::Rejected(other.0.to_string()),
            },
            other => TlsError::Rejected(format!("{other:?}")),
        },
        other => TlsError::Rustls(other),
    }
}

/// The readable cause of a failed tokio-rustls handshake (`accept`/`connect` return an
/// `io::Error` wrapping the `rustls::Error`), or `None` if it was a plain I/O error.
pub fn handshake_error(err: &std::io::Error) -> Option<TlsError> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map(|e| map_verification_error(e.clone(), None))
}

fn subject_alt_names(der: &CertificateDer<'_>) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der.as_ref()) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(d.to_string()),
            GeneralName::IPAddress(ip) => match ip.len() {
                4 => <[u8; 4]>::try_from(*ip)
                    .ok()
                    .map(|a| std::net::IpAddr::from(a).to_string()),
                16 => <[u8; 16]>::try_from(*ip)
                    .ok()
                    .map(|a| std::net::IpAddr::from(a).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Verifies `chain` (leaf first) against `roots` at time `now`, exactly as the
/// services' rustls verifiers do.
///
/// - [`Purpose::Server`] with a host: `WebPkiServerVerifier` (chain, validity,
///   serverAuth, host name or IP in the SANs; rustls ignores the CN).
/// - [`Purpose::Server`] without a host: the same chain check without the name check.
/// - [`Purpose::Client`]: `WebPkiClientVerifier` (chain, validity, clientAuth); a host,
///   if given, is checked against the SANs as well.
pub fn verify_certificate(
    roots: Arc<RootCertStore>,
    chain: &[CertificateDer<'static>],
    host: Option<&str>,
    purpose: Purpose,
    now: UnixTime,
) -> Result<(), TlsError> {
    let (leaf, intermediates) = chain
        .split_first()
        .ok_or_else(|| TlsError::PeerCertificate {
            reason: "empty certificate chain".into(),
        })?;
    let name = host
        .map(|h| {
            ServerName::try_from(h.to_string()).map_err(|_| TlsError::InvalidHostName {
                name: h.to_string(),
            })
        })
        .transpose()?;
    let provider = provider();
    let with_sans = |e: TlsError| match e {
        TlsError::NotValidForHost { host, .. } => TlsError::NotValidForHost {
            host,
            presented: subject_alt_names(leaf),
        },
        other => other,
    };
    let result = match (purpose, &name) {
        (Purpose::Server, Some(name)) => {
            let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
            verifier
                .verify_server_cert(leaf, intermediates, name, &[], now)
                .map(|_| ())
        }
        (Purpose::Server, None) => {
            let parsed =
                ParsedCertificate::try_from(leaf).map_err(|e| map_verification_error(e, host))?;
            verify_server_cert_signed_by_trust_anchor(
                &parsed,
                &roots,
                intermediates,
                now,
                provider.signature_verification_algorithms.all,
            )
        }
        (Purpose::Client, _) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
            verifier
                .verify_client_cert(leaf, intermediates, now)
                .map(|_| ())
                .and_then(|()| match &name {
                    Some(name) => {
                        let parsed = ParsedCertificate::try_from(leaf)?;
                        verify_server_name(&parsed, name)
                    }
                    None => Ok(()),
                })
        }
    };
    result.map_err(|e| with_sans(map_verification_error(e, host)))
}

/// Wraps a client verifier to enforce OpenSSL-style `verify_depth`.
///
/// webpki builds the path itself and exposes no depth limit, so this counts the
/// intermediates the peer *sent*: a peer that also sends the root counts it. Depth `N`
/// allows `N` intermediates between the leaf and the trust anchor, as in OpenSSL.
#[derive(Debug)]
pub(crate) struct DepthLimitedVerifier {
    pub(crate) inner: Arc<dyn ClientCertVerifier>,
    pub(crate) depth: u8,
}

impl ClientCertVerifier for DepthLimitedVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if intermediates.len() > usize::from(self.depth) {
            let err = TlsError::ChainTooLong {
                depth: self.depth,
                intermediates: intermediates.len(),
            };
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(err)),
            )));
        }
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
