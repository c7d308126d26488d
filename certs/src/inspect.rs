//! Human-readable summaries of certificates and keys for `kc-certs inspect`.
//!
//! The output is line-oriented, one `Label: value` per line, so administrators can
//! grep it: subject, issuer, serial, SANs, validity, key type and size, CA flag, key
//! usages, and the SHA-256 fingerprint in OpenSSL's colon-separated form.

use std::fmt;
use std::path::Path;

use pkcs8::der::Decode;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::tls::pem;
use crate::tls::{read_limited, TlsError, MAX_FILE_SIZE};

/// The summary of one certificate.
#[derive(Debug, Clone)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub sans: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub key: String,
    pub is_ca: bool,
    pub key_usage: Option<String>,
    pub ext_key_usage: Vec<String>,
    /// Upper-case hex byte pairs joined by `:` (as `openssl x509 -fingerprint -sha256`).
    pub sha256: String,
}

fn fingerprint(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn fmt_time(t: OffsetDateTime) -> String {
    let fmt =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.format(&fmt).unwrap_or_else(|_| t.to_string())
}

/// Describes a public key: `EC P-256 (256 bits)`, `RSA 2048 bits`, `Ed25519`, ...
pub fn describe_spki(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let alg = spki.algorithm.algorithm.to_id_string();
    let param = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    match alg.as_str() {
        "1.2.840.10045.2.1" => {
            let curve = match param.as_deref() {
                Some("1.2.840.10045.3.1.7") => "P-256 (256 bits)".to_string(),
                Some("1.3.132.0.34") => "P-384 (384 bits)".to_string(),
                Some("1.3.132.0.35") => "P-521 (521 bits)".to_string(),
                Some(other) => format!("curve {other}"),
                None => "unknown curve".to_string(),
            };
            format!("EC {curve}")
        }
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => match spki.parsed() {
            Ok(key) => format!("RSA {} bits", key.key_size()),
            Err(_) => "RSA (unparsable)".to_string(),
        },
        "1.3.101.112" => "Ed25519".to_string(),
        "1.3.101.113" => "Ed448".to_string(),
        other => format!("unknown algorithm {other}"),
    }
}

fn general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(d) => format!("DNS:{d}"),
        GeneralName::IPAddress(ip) => match ip.len() {
            4 => <[u8; 4]>::try_from(*ip)
                .map(|a| format!("IP:{}", std::net::IpAddr::from(a)))
                .unwrap_or_default(),
            16 => <[u8; 16]>::try_from(*ip)
                .map(|a| format!("IP:{}", std::net::IpAddr::from(a)))
                .unwrap_or_default(),
            _ => "IP:(malformed)".to_string(),
        },
        GeneralName::RFC822Name(m) => format!("email:{m}"),
        GeneralName::URI(u) => format!("URI:{u}"),
        other => format!("{other:?}"),
    }
}

/// Summarises one DER certificate.
pub fn summarize(der: &[u8]) -> Result<CertSummary, TlsError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| TlsError::PeerCertificate {
        reason: format!("cannot parse certificate: {e}"),
    })?;
    let sans = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext.value.general_names.iter().map(general_name).collect(),
        _ => Vec::new(),
    };
    let ext_key_usage = match cert.extended_key_usage() {
        Ok(Some(eku)) => {
            let e = eku.value;
            let mut v = Vec::new();
            if e.any {
                v.push("any".to_string());
            }
            if e.server_auth {
                v.push("TLS server".to_string());
            }
            if e.client_auth {
                v.push("TLS client".to_string());
            }
            if e.code_signing {
                v.push("code signing".to_string());
            }
            if e.email_protection {
                v.push("e-mail".to_string());
            }
            if e.time_stamping {
                v.push("time stamping".to_string());
            }
            if e.ocsp_signing {
                v.push("OCSP signing".to_string());
            }
            v.extend(e.other.iter().map(|o| o.to_id_string()));
            v
        }
        _ => Vec::new(),
    };
    Ok(CertSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string().to_uppercase(),
        sans,
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        key: describe_spki(cert.public_key()),
        is_ca: cert.is_ca(),
        key_usage: cert.key_usage().ok().flatten().map(|k| k.value.to_string()),
        ext_key_usage,
        sha256: fingerprint(der),
    })
}

impl CertSummary {
    /// Writes the summary, judging validity against `now`.
    pub fn render(&self, now: OffsetDateTime) -> String {
        let state = if now > self.not_after {
            "EXPIRED".to_string()
        } else if now < self.not_before {
            "NOT YET VALID".to_string()
        } else {
            format!("valid, {} days left", (self.not_after - now).whole_days())
        };
        let mut s = String::new();
        s.push_str(&format!("Subject:        {}\n", self.subject));
        s.push_str(&format!("Issuer:         {}\n", self.issuer));
        s.push_str(&format!("Serial:         {}\n", self.serial));
        let sans = if self.sans.is_empty() {
            "(none)".to_string()
        } else {
            self.sans.join(", ")
        };
        s.push_str(&format!("SANs:           {sans}\n"));
        s.push_str(&format!("Not before:     {}\n", fmt_time(self.not_before)));
        s.push_str(&format!(
            "Not after:      {} ({state})\n",
            fmt_time(self.not_after)
        ));
        s.push_str(&format!("Key:            {}\n", self.key));
        s.push_str(&format!(
            "CA:             {}\n",
            if self.is_ca { "yes" } else { "no" }
        ));
        if let Some(ku) = &self.key_usage {
            s.push_str(&format!("Key usage:      {ku}\n"));
        }
        if !self.ext_key_usage.is_empty() {
            s.push_str(&format!(
                "Ext. key usage: {}\n",
                self.ext_key_usage.join(", ")
            ));
        }
        s.push_str(&format!("SHA-256:        {}\n", self.sha256));
        s
    }
}

impl fmt::Display for CertSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(OffsetDateTime::now_utc()))
    }
}

fn describe_private_key(label: &str, der: &[u8]) -> String {
    match label {
        "ENCRYPTED PRIVATE KEY" => "PKCS#8, encrypted (passphrase required)".to_string(),
        "RSA PRIVATE KEY" => "PKCS#1 RSA".to_string(),
        "EC PRIVATE KEY" => "SEC1 EC".to_string(),
        _ => match pkcs8::PrivateKeyInfo::from_der(der) {
            Ok(info) => {
                let alg = info.algorithm.oid.to_string();
                let curve = info.algorithm.parameters_oid().ok().map(|o| o.to_string());
                let kind = match (alg.as_str(), curve.as_deref()) {
                    ("1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) => "EC P-256".to_string(),
                    ("1.2.840.10045.2.1", Some("1.3.132.0.34")) => "EC P-384".to_string(),
                    ("1.2.840.10045.2.1", _) => "EC".to_string(),
                    ("1.2.840.113549.1.1.1", _) => "RSA".to_string(),
                    ("1.3.101.112", _) => "Ed25519".to_string(),
                    (other, _) => format!("algorithm {other}"),
                };
                format!("PKCS#8 {kind}, not encrypted")
            }
            Err(_) => "PKCS#8 (unparsable)".to_string(),
        },
    }
}

/// Describes every certificate, private key and public key in a PEM (or a DER
/// certificate) file. Private keys are described, never printed.
pub fn inspect_file(path: &Path) -> Result<String, TlsError> {
    let bytes = read_limited(path, MAX_FILE_SIZE)?;
    let blocks = pem::parse(&bytes).map_err(|source| TlsError::Pem {
        path: path.to_path_buf(),
        source,
    })?;
    let now = OffsetDateTime::now_utc();
    if blocks.is_empty() {
        // A binary .cer from `kc-certs der` (DER starts with a SEQUENCE tag).
        if bytes.first() == Some(&0x30) {
            if let Ok(summary) = summarize(&bytes) {
                return Ok(format!("Certificate (DER)\n{}", summary.render(now)));
            }
        }
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    let mut out = String::new();
    let certs = blocks.iter().filter(|b| b.label == "CERTIFICATE").count();
    let mut n = 0;
    for block in &blocks {
        if !out.is_empty() {
            out.push('\n');
        }
        match block.label.as_str() {
            "CERTIFICATE" => {
                n += 1;
                out.push_str(&format!("Certificate {n} of {certs}\n"));
                match summarize(&block.der) {
                    Ok(s) => out.push_str(&s.render(now)),
                    Err(e) => out.push_str(&format!("  unparsable: {e}\n")),
                }
            }
            "PUBLIC KEY" => {
                let kind = SubjectPublicKeyInfo::from_der(&block.der)
                    .map(|(_, spki)| describe_spki(&spki))
                    .unwrap_or_else(|_| "unparsable".to_string());
                out.push_str(&format!("Public key:     {kind}\n"));
                out.push_str(&format!("SPKI SHA-256:   {}\n", fingerprint(&block.der)));
            }
            label if label.ends_with("PRIVATE KEY") => {
                out.push_str(&format!(
                    "Private key:    {}\n",
                    describe_private_key(label, &block.der)
                ));
            }
            other => out.push_str(&format!("Other block:    {other}\n")),
        }
    }
    Ok(out)
}
