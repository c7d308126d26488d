//! The CA directory in `CA.pl -newca` layout, its creation and its serial bookkeeping.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use super::files::{create_private_dir, write_public, write_secret};
use super::keys::{encode_private_key, key_pair_from_der, KeyType, NewKey};
use super::AuthorityError;
use crate::tls::{load_cert_chain, load_private_key, spki_of_certificate};

/// The longest validity accepted, so date arithmetic cannot overflow.
pub(crate) const MAX_DAYS: u32 = 36_500;

/// Paths of a CA directory (`DIR/demoCA` by default), as OpenSSL's `CA.pl` lays it out.
#[derive(Debug, Clone)]
pub struct CaLayout {
    root: PathBuf,
}

impl CaLayout {
    /// The CA in `dir/demoCA`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            root: dir.join("demoCA"),
        }
    }

    /// The CA directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `cacert.pem`: the CA certificate (what `server_ssl_ca_file` points to).
    pub fn cert(&self) -> PathBuf {
        self.root.join("cacert.pem")
    }
    /// `private/cakey.pem`: the CA key.
    pub fn key(&self) -> PathBuf {
        self.root.join("private").join("cakey.pem")
    }
    /// `serial`: the next serial number in hex.
    pub fn serial(&self) -> PathBuf {
        self.root.join("serial")
    }
    /// `index.txt`: OpenSSL's database of issued certificates.
    pub fn index(&self) -> PathBuf {
        self.root.join("index.txt")
    }
    /// `newcerts/`: a copy of every issued certificate, named by serial.
    pub fn newcerts(&self) -> PathBuf {
        self.root.join("newcerts")
    }

    /// Whether a CA exists; like ssl-certificates.sh, the serial file is the marker.
    pub fn exists(&self) -> bool {
        self.serial().exists()
    }
}

/// The subject of a new CA.
#[derive(Debug, Clone, Default)]
pub struct CaSubject {
    /// Common name; required.
    pub cn: String,
    /// Organisation (O), optional.
    pub org: Option<String>,
    /// Organisational unit (OU); leaves must use a different one.
    pub ou: Option<String>,
}

/// An opened CA that can sign.
pub struct Ca {
    layout: CaLayout,
    issuer: Issuer<'static, KeyPair>,
    cert_der: CertificateDer<'static>,
    ou: Option<String>,
}

pub(crate) fn validity(days: u32) -> Result<(OffsetDateTime, OffsetDateTime), AuthorityError> {
    if days == 0 || days > MAX_DAYS {
        return Err(AuthorityError::InvalidSubject {
            field: "validity",
            reason: format!("--days must be between 1 and {MAX_DAYS}"),
        });
    }
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::now_utc());
    // A few minutes of back-dating absorb clock skew between hosts.
    Ok((
        now - Duration::minutes(5),
        now + Duration::days(i64::from(days)),
    ))
}

pub(crate) fn check_field(field: &'static str, value: &str) -> Result<(), AuthorityError> {
    if value.trim().is_empty() {
        return Err(AuthorityError::InvalidSubject {
            field,
            reason: "must not be empty".into(),
        });
    }
    if value.len() > 64 || value.chars().any(|c| c.is_control()) {
        return Err(AuthorityError::InvalidSubject {
            field,
            reason: "at most 64 printable characters".into(),
        });
    }
    Ok(())
}

/// The subject in OpenSSL's index.txt notation (`/O=.../OU=.../CN=...`).
pub(crate) fn index_dn(cn: &str, org: Option<&str>, ou: Option<&str>) -> String {
    let mut dn = String::new();
    if let Some(o) = org {
        dn.push_str(&format!("/O={o}"));
    }
    if let Some(u) = ou {
        dn.push_str(&format!("/OU={u}"));
    }
    dn.push_str(&format!("/CN={cn}"));
    dn
}

fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

fn increment(serial: &[u8]) -> Vec<u8> {
    let mut out = serial.to_vec();
    for byte in out.iter_mut().rev() {
        let (v, carry) = byte.overflowing_add(1);
        *byte = v;
        if !carry {
            return out;
        }
    }
    out.insert(0, 1);
    out
}

fn random_serial() -> Result<Vec<u8>, AuthorityError> {
    let mut s = [0u8; 16];
    SystemRandom::new()
        .fill(&mut s)
        .map_err(|_| AuthorityError::KeyGeneration("no system randomness".into()))?;
    // Positive and minimal as a DER INTEGER: first byte in 0x01..=0x7f.
    s[0] = (s[0] & 0x7f).max(1);
    Ok(s.to_vec())
}

fn asn1_time(t: OffsetDateTime) -> String {
    // RFC 5280: UTCTime up to 2049, GeneralizedTime after; index.txt stores the same string.
    let (y, mo, d, h, mi, s) = (
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    );
    if y < 2050 {
        format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100)
    } else {
        format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z")
    }
}

impl Ca {
    /// Creates a CA (self-signed, `days` valid, key encrypted with `pass` if given).
    ///
    /// An existing CA is refused unless `force`, in which case its directory is moved
    /// aside to `demoCA-backup-UNIXTIME` (as ssl-certificates.sh moves it to
    /// `*-backup.kopano`), never deleted.
    pub fn create(
        layout: CaLayout,
        subject: &CaSubject,
        key_type: KeyType,
        days: u32,
        pass: Option<&str>,
        force: bool,
    ) -> Result<Ca, AuthorityError> {
        check_field("CA common name (CN)", &subject.cn)?;
        if let Some(o) = &subject.org {
            check_field("organisation (O)", o)?;
        }
        if let Some(u) = &subject.ou {
            check_field("organisational unit (OU)", u)?;
        }
        let (not_before, not_after) = validity(days)?;
        if layout.root.exists() {
            if layout.exists() && !force {
                return Err(AuthorityError::Exists {
                    path: layout.serial(),
                });
            }
            let stamp = OffsetDateTime::now_utc().unix_timestamp();
            let backup = layout.root.with_file_name(format!("demoCA-backup-{stamp}"));
            fs::rename(&layout.root, &backup).map_err(|e| AuthorityError::io(&layout.root, e))?;
        }

        let key = NewKey::generate(key_type)?;
        let serial = random_serial()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(o) = &subject.org {
            params
                .distinguished_name
                .push(DnType::OrganizationName, o.as_str());
        }
        if let Some(u) = &subject.ou {
            params
                .distinguished_name
                .push(DnType::OrganizationalUnitName, u.as_str());
        }
        params
            .distinguished_name
            .push(DnType::CommonName, subject.cn.as_str());
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        let cert = params.self_signed(&key.pair)?;

        create_private_dir(&layout.root, true)?;
        for sub in ["certs", "crl", "newcerts"] {
            create_private_dir(&layout.root.join(sub), false)?;
        }
        create_private_dir(&layout.root.join("private"), true)?;
        write_secret(
            &layout.key(),
            encode_private_key(key.pkcs8_der(), pass)?.as_bytes(),
            false,
        )?;
        write_public(&layout.cert(), cert.pem().as_bytes(), false)?;
        write_public(&layout.index(), b"", false)?;
        write_public(
            &layout.root.join("index.txt.attr"),
            b"unique_subject = no\n",
            false,
        )?;
        write_public(&layout.root.join("crlnumber"), b"01\n", false)?;
        let ca = Ca {
            issuer: Issuer::from_ca_cert_der(cert.der(), key.pair)?,
            cert_der: cert.der().clone(),
            ou: subject.ou.clone(),
            layout,
        };
        ca.record(
            &serial,
            not_after,
            &index_dn(&subject.cn, subject.org.as_deref(), subject.ou.as_deref()),
            &cert.pem(),
        )?;
        write_public(
            &ca.layout.serial(),
            format!("{}\n", hex_upper(&increment(&serial))).as_bytes(),
            false,
        )?;
        Ok(ca)
    }

    /// Opens the CA in `layout`; `pass` decrypts an encrypted CA key.
    ///
    /// Returns [`crate::tls::TlsError::PassphraseRequired`] (inside
    /// [`AuthorityError::Tls`]) when the key is encrypted and `pass` is `None`, so a
    /// caller can prompt and retry.
    pub fn open(layout: CaLayout, pass: Option<&str>) -> Result<Ca, AuthorityError> {
        if !layout.root.exists() || !layout.exists() {
            return Err(AuthorityError::NoCa {
                dir: layout.root.clone(),
            });
        }
        for needed in [layout.cert(), layout.key()] {
            if !needed.exists() {
                return Err(AuthorityError::CaIncomplete {
                    dir: layout.root.clone(),
                    missing: needed,
                });
            }
        }
        let cert_path = layout.cert();
        let cert_der = load_cert_chain(&cert_path)?
            .into_iter()
            .next()
            .ok_or_else(|| crate::tls::TlsError::NoCertificate {
                path: cert_path.clone(),
            })?;
        let key = load_private_key(&layout.key(), pass)?;
        let pair = key_pair_from_der(&key)?;
        if spki_of_certificate(&cert_der)? != rcgen::PublicKeyData::subject_public_key_info(&pair) {
            return Err(crate::tls::TlsError::KeyMismatch { path: layout.key() }.into());
        }
        let ou = x509_parser::parse_x509_certificate(cert_der.as_ref())
            .ok()
            .and_then(|(_, c)| {
                c.subject()
                    .iter_organizational_unit()
                    .next()
                    .and_then(|a| a.as_str().ok().map(str::to_string))
            });
        Ok(Ca {
            issuer: Issuer::from_ca_cert_der(&cert_der, pair)?,
            cert_der,
            ou,
            layout,
        })
    }

    /// The CA's directory layout.
    pub fn layout(&self) -> &CaLayout {
        &self.layout
    }

    /// The CA certificate.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The CA's OU, if it has one.
    pub fn ou(&self) -> Option<&str> {
        self.ou.as_deref()
    }

    pub(crate) fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }

    /// Reserves the next serial number (reads and advances `serial`).
    pub(crate) fn take_serial(&self) -> Result<Vec<u8>, AuthorityError> {
        let path = self.layout.serial();
        let text = fs::read_to_string(&path).map_err(|e| AuthorityError::io(&path, e))?;
        let mut serial = hex::decode(text.trim())
            .map_err(|_| AuthorityError::BadSerial { path: path.clone() })?;
        while serial.len() > 1 && serial[0] == 0 {
            serial.remove(0);
        }
        if serial.is_empty() || serial.len() > 20 {
            return Err(AuthorityError::BadSerial { path });
        }
        write_public(
            &path,
            format!("{}\n", hex_upper(&increment(&serial))).as_bytes(),
            true,
        )?;
        Ok(serial)
    }

    /// Appends the certificate to `index.txt` and stores a copy in `newcerts/`.
    pub(crate) fn record(
        &self,
        serial: &[u8],
        not_after: OffsetDateTime,
        dn: &str,
        cert_pem: &str,
    ) -> Result<(), AuthorityError> {
        let serial_hex = hex_upper(serial);
        let index = self.layout.index();
        let mut file = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&index)
            .map_err(|e| AuthorityError::io(&index, e))?;
        writeln!(
            file,
            "V\t{}\t\t{serial_hex}\tunknown\t{dn}",
            asn1_time(not_after)
        )
        .map_err(|e| AuthorityError::io(&index, e))?;
        let copy = self.layout.newcerts().join(format!("{serial_hex}.pem"));
        write_public(&copy, cert_pem.as_bytes(), true)
    }
}
