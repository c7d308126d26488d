//! Issuing server and client certificates from a [`Ca`].

use std::net::IpAddr;

use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SanType,
    SerialNumber,
};
use rustls_pki_types::CertificateDer;

use super::ca::{check_field, index_dn, validity, Ca};
use super::keys::{KeyType, NewKey};
use super::AuthorityError;

/// What the certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeafKind {
    /// A TLS server (serverAuth); `sans` are DNS names or IP addresses, default the CN.
    Server { sans: Vec<String> },
    /// A TLS client (clientAuth), e.g. a service logging on with `sslkey_file`.
    Client,
}

/// A certificate request.
#[derive(Debug, Clone)]
pub struct LeafRequest {
    pub kind: LeafKind,
    /// Common name: the server's FQDN (multi-server: the `ldap_server_address_attribute`
    /// value) or any client name.
    pub cn: String,
    pub org: Option<String>,
    /// Defaults to `Server` / `Client`; must differ from the CA's OU.
    pub ou: Option<String>,
    /// Validity in days (ssl-certificates.sh: 1095).
    pub days: u32,
    pub key_type: KeyType,
}

/// A freshly issued certificate and its key.
pub struct Issued {
    pub key: NewKey,
    pub cert_der: CertificateDer<'static>,
    pub cert_pem: String,
}

fn parse_san(value: &str) -> Result<SanType, AuthorityError> {
    let invalid = |reason: &str| AuthorityError::InvalidSan {
        value: value.to_string(),
        reason: reason.to_string(),
    };
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let name = value.strip_prefix("*.").unwrap_or(value);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if value.len() > 253 || !name.trim_end_matches('.').split('.').all(label_ok) {
        return Err(invalid(
            "not a DNS name (letters, digits, '-', optionally a leading '*.') or an IP address",
        ));
    }
    let ia5 = rcgen::string::Ia5String::try_from(value).map_err(|e| invalid(&e.to_string()))?;
    Ok(SanType::DnsName(ia5))
}

/// Issues a certificate signed by `ca` and records it in the CA's index.
pub fn issue(ca: &Ca, req: &LeafRequest) -> Result<Issued, AuthorityError> {
    check_field("common name (CN)", &req.cn)?;
    if let Some(o) = &req.org {
        check_field("organisation (O)", o)?;
    }
    let ou = req.ou.clone().unwrap_or_else(|| {
        match req.kind {
            LeafKind::Server { .. } => "Server",
            LeafKind::Client => "Client",
        }
        .to_string()
    });
    check_field("organisational unit (OU)", &ou)?;
    if ca.ou() == Some(ou.as_str()) {
        return Err(AuthorityError::SameOu { ou });
    }
    let sans = match &req.kind {
        LeafKind::Server { sans } if sans.is_empty() => vec![parse_san(&req.cn)?],
        LeafKind::Server { sans } => sans
            .iter()
            .map(|s| parse_san(s))
            .collect::<Result<_, _>>()?,
        LeafKind::Client => Vec::new(),
    };
    let (not_before, not_after) = validity(req.days)?;

    let key = NewKey::generate(req.key_type)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    if let Some(o) = &req.org {
        params
            .distinguished_name
            .push(DnType::OrganizationName, o.as_str());
    }
    params
        .distinguished_name
        .push(DnType::OrganizationalUnitName, ou.as_str());
    params
        .distinguished_name
        .push(DnType::CommonName, req.cn.as_str());
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if req.key_type != KeyType::Ec {
        // TLS 1.2 RSA key exchange (OpenSSL peers) needs keyEncipherment.
        params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
    }
    params.extended_key_usages = vec![match req.kind {
        LeafKind::Server { .. } => ExtendedKeyUsagePurpose::ServerAuth,
        LeafKind::Client => ExtendedKeyUsagePurpose::ClientAuth,
    }];
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    let serial = ca.take_serial()?;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    let cert = params.signed_by(&key.pair, ca.issuer())?;
    let cert_pem = cert.pem();
    ca.record(
        &serial,
        not_after,
        &index_dn(&req.cn, req.org.as_deref(), Some(&ou)),
        &cert_pem,
    )?;
    Ok(Issued {
        key,
        cert_der: cert.der().clone(),
        cert_pem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sans() {
        assert!(matches!(parse_san("10.0.0.1"), Ok(SanType::IpAddress(_))));
        assert!(matches!(parse_san("::1"), Ok(SanType::IpAddress(_))));
        assert!(matches!(
            parse_san("mail.example.com"),
            Ok(SanType::DnsName(_))
        ));
        assert!(matches!(
            parse_san("*.example.com"),
            Ok(SanType::DnsName(_))
        ));
        assert!(parse_san("bad name").is_err());
        assert!(parse_san("-x.example").is_err());
        assert!(parse_san("").is_err());
    }
}
