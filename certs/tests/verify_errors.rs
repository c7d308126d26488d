//! `kc-certs verify` and `tls::verify_certificate` reject a certificate from another CA,
//! an expired one and one for the wrong host, each with its own readable error.

mod common;

use std::sync::Arc;

use common::*;
use kc_certs::tls::{self, Purpose, TlsError};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair, SanType};
use rustls_pki_types::UnixTime;

fn roots(pki: &Pki) -> Arc<rustls::RootCertStore> {
    Arc::new(tls::load_roots(Some(&pki.ca()), None).unwrap())
}

fn verify_lib(
    pki: &Pki,
    cert: &std::path::Path,
    host: Option<&str>,
    purpose: Purpose,
) -> Result<(), TlsError> {
    let chain = tls::load_cert_chain(cert).unwrap();
    tls::verify_certificate(roots(pki), &chain, host, purpose, UnixTime::now())
}

/// Signs an already-expired certificate for localhost with the kc-certs CA (rcgen, in the test).
fn expired_cert(pki: &Pki) -> std::path::PathBuf {
    let key = tls::load_private_key(&pki.ca_key(), None).unwrap();
    let ca_key = kc_certs::authority::key_pair_from_der(&key).unwrap();
    let ca_pem = std::fs::read_to_string(pki.ca()).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let leaf_key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&leaf_key, &issuer).unwrap();
    let path = pki.path("expired.pem");
    std::fs::write(&path, cert.pem()).unwrap();
    path
}

#[test]
fn good_certificates_verify() {
    let pki = make_pki("ec");
    let ca = s(&pki.ca()).to_string();
    let out = kc_ok(&[
        "verify",
        "--ca",
        &ca,
        s(&pki.path("server.pem")),
        "--host",
        "localhost",
    ]);
    assert!(out.contains("OK (server certificate"), "{out}");
    kc_ok(&[
        "verify",
        "--ca",
        &ca,
        s(&pki.path("server.pem")),
        "--host",
        "127.0.0.1",
    ]);
    let out = kc_ok(&["verify", "--ca", &ca, s(&pki.path("client.pem"))]);
    assert!(out.contains("OK (client certificate"), "{out}");
    // A CA directory works as well as a file.
    kc_ok(&[
        "verify",
        "--ca",
        s(&pki.dir.join("demoCA/newcerts")),
        s(&pki.path("server.pem")),
    ]);
    verify_lib(
        &pki,
        &pki.path("server.pem"),
        Some("localhost"),
        Purpose::Server,
    )
    .unwrap();
    verify_lib(&pki, &pki.path("client.pem"), None, Purpose::Client).unwrap();
}

#[test]
fn certificate_from_another_ca_is_rejected() {
    let pki = make_pki("ec");
    let other = make_pki_named("ec", "Other CA");
    let cert = other.path("server.pem");
    let err = kc_err(&[
        "verify",
        "--ca",
        s(&pki.ca()),
        s(&cert),
        "--host",
        "localhost",
    ]);
    assert!(
        err.contains("certificate from another CA (unknown issuer)"),
        "{err}"
    );
    let lib = verify_lib(&pki, &cert, Some("localhost"), Purpose::Server).unwrap_err();
    assert!(matches!(lib, TlsError::UnknownIssuer), "{lib:?}");
    let lib = verify_lib(&pki, &other.path("client.pem"), None, Purpose::Client).unwrap_err();
    assert!(matches!(lib, TlsError::UnknownIssuer), "{lib:?}");

    // Another CA that happens to have the same name: webpki says "bad signature".
    let twin = make_pki("ec");
    let err = kc_err(&["verify", "--ca", s(&pki.ca()), s(&twin.path("server.pem"))]);
    assert!(err.contains("another CA with the same name"), "{err}");
}

#[test]
fn expired_certificate_is_rejected() {
    let pki = make_pki("ec");
    let cert = expired_cert(&pki);
    let err = kc_err(&[
        "verify",
        "--ca",
        s(&pki.ca()),
        s(&cert),
        "--host",
        "localhost",
    ]);
    assert!(err.contains("certificate expired"), "{err}");
    assert!(err.contains("2021-01-01"), "expiry date missing: {err}");
    let lib = verify_lib(&pki, &cert, Some("localhost"), Purpose::Server).unwrap_err();
    assert!(matches!(lib, TlsError::Expired { .. }), "{lib:?}");
    // Without a host the chain check still catches it.
    let lib = verify_lib(&pki, &cert, None, Purpose::Server).unwrap_err();
    assert!(matches!(lib, TlsError::Expired { .. }), "{lib:?}");
}

#[test]
fn wrong_host_is_rejected() {
    let pki = make_pki("ec");
    let cert = pki.path("server.pem");
    let err = kc_err(&[
        "verify",
        "--ca",
        s(&pki.ca()),
        s(&cert),
        "--host",
        "mail.example.org",
    ]);
    assert!(
        err.contains("certificate is not valid for host mail.example.org"),
        "{err}"
    );
    assert!(
        err.contains("localhost, 127.0.0.1"),
        "presented names missing: {err}"
    );
    match verify_lib(&pki, &cert, Some("10.9.9.9"), Purpose::Server).unwrap_err() {
        TlsError::NotValidForHost { host, presented } => {
            assert_eq!(host, "10.9.9.9");
            assert_eq!(
                presented,
                vec!["localhost".to_string(), "127.0.0.1".to_string()]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_three_errors_read_differently() {
    let pki = make_pki("ec");
    let other = make_pki_named("ec", "Other CA");
    let ca = s(&pki.ca()).to_string();
    let a = kc_err(&[
        "verify",
        "--ca",
        &ca,
        s(&other.path("server.pem")),
        "--host",
        "localhost",
    ]);
    let b = kc_err(&[
        "verify",
        "--ca",
        &ca,
        s(&expired_cert(&pki)),
        "--host",
        "localhost",
    ]);
    let c = kc_err(&[
        "verify",
        "--ca",
        &ca,
        s(&pki.path("server.pem")),
        "--host",
        "wrong.example",
    ]);
    assert_ne!(a, b);
    assert_ne!(b, c);
    assert_ne!(a, c);
}

#[test]
fn wrong_purpose_is_rejected() {
    let pki = make_pki("ec");
    let err = kc_err(&[
        "verify",
        "--ca",
        s(&pki.ca()),
        s(&pki.path("server.pem")),
        "--purpose",
        "client",
    ]);
    assert!(err.contains("not allowed for this purpose"), "{err}");
}
