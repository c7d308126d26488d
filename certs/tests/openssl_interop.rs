//! kc-certs output is accepted by the OpenSSL command-line tools.

mod common;

use common::*;

fn assert_verifies(pki: &Pki, file: &str) {
    let out = tool(
        "openssl",
        &["verify", "-CAfile", s(&pki.ca()), s(&pki.path(file))],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(": OK"),
        "openssl verify {file}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn openssl_verify_accepts_ec_server_and_client() {
    let pki = make_pki("ec");
    assert_verifies(&pki, "server.pem");
    assert_verifies(&pki, "client.pem");
    // The purpose-specific checks OpenSSL applies for TLS use.
    for (file, purpose) in [("server.pem", "sslserver"), ("client.pem", "sslclient")] {
        let out = tool(
            "openssl",
            &[
                "verify",
                "-purpose",
                purpose,
                "-CAfile",
                s(&pki.ca()),
                s(&pki.path(file)),
            ],
        );
        assert!(
            out.status.success(),
            "openssl verify -purpose {purpose} {file}"
        );
    }
}

#[test]
fn openssl_verify_accepts_rsa_and_sees_rsa_key() {
    let pki = make_pki("rsa2048");
    assert_verifies(&pki, "server.pem");
    assert_verifies(&pki, "client.pem");
    let out = tool(
        "openssl",
        &["x509", "-in", s(&pki.path("server.pem")), "-noout", "-text"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    assert!(text.contains("rsaEncryption"), "{text}");
}

#[test]
fn openssl_x509_text_shows_sans_and_ou() {
    let tmp = tempfile::tempdir().unwrap();
    let d = s(tmp.path()).to_string();
    kc_ok(&["ca", "--dir", &d, "--cn", "Test CA"]);
    kc_ok(&[
        "server",
        "--dir",
        &d,
        "--cn",
        "mail.example.com",
        "--san",
        "mail.example.com",
        "--san",
        "imap.example.com",
        "--san",
        "192.0.2.7",
        "--san",
        "2001:db8::1",
    ]);
    let out = tool(
        "openssl",
        &["x509", "-in", &format!("{d}/server.pem"), "-noout", "-text"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("X509v3 Subject Alternative Name"), "{text}");
    for san in [
        "DNS:mail.example.com",
        "DNS:imap.example.com",
        "IP Address:192.0.2.7",
        "IP Address:2001:DB8:0:0:0:0:0:1",
    ] {
        assert!(text.contains(san), "missing {san} in:\n{text}");
    }
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    // The manuals require the leaf OU to differ from the CA's.
    let subject = tool(
        "openssl",
        &[
            "x509",
            "-in",
            &format!("{d}/server.pem"),
            "-noout",
            "-subject",
            "-issuer",
        ],
    );
    let subject = String::from_utf8_lossy(&subject.stdout);
    assert!(subject.contains("OU = Server"), "{subject}");
    assert!(subject.contains("OU = Certificate Authority"), "{subject}");
}

#[test]
fn sans_default_to_the_cn() {
    let tmp = tempfile::tempdir().unwrap();
    let d = s(tmp.path()).to_string();
    kc_ok(&[
        "server",
        "--dir",
        &d,
        "--ca-cn",
        "Implicit CA",
        "--cn",
        "node1.example.com",
    ]);
    let out = tool(
        "openssl",
        &[
            "x509",
            "-in",
            &format!("{d}/server.pem"),
            "-noout",
            "-ext",
            "subjectAltName",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DNS:node1.example.com"), "{text}");
    // The CA was created on first use.
    assert!(tmp.path().join("demoCA/cacert.pem").is_file());
}

#[test]
fn openssl_pkey_opens_encrypted_key_only_with_its_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let d = s(tmp.path()).to_string();
    kc_ok(&[
        "ca",
        "--dir",
        &d,
        "--cn",
        "Test CA",
        "--ca-pass",
        "ca-secret",
    ]);
    kc_ok(&[
        "server",
        "--dir",
        &d,
        "--cn",
        "localhost",
        "--pass",
        "s3rver",
        "--ca-pass",
        "ca-secret",
    ]);
    let key = format!("{d}/server.pem");
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(
        text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{text}"
    );
    let ok = tool(
        "openssl",
        &["pkey", "-in", &key, "-passin", "pass:s3rver", "-noout"],
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let bad = tool(
        "openssl",
        &["pkey", "-in", &key, "-passin", "pass:wrong", "-noout"],
    );
    assert!(
        !bad.status.success(),
        "openssl opened the key with a wrong passphrase"
    );
    // The CA key is encrypted too, and signing needs its passphrase.
    let ca_key = format!("{d}/demoCA/private/cakey.pem");
    let ok = tool(
        "openssl",
        &[
            "pkey",
            "-in",
            &ca_key,
            "-passin",
            "pass:ca-secret",
            "-noout",
        ],
    );
    assert!(ok.status.success());
    let err = kc_err(&["client", "--dir", &d, "--cn", "x"]);
    assert!(err.contains("--ca-pass"), "{err}");
    let err = kc_err(&["client", "--dir", &d, "--cn", "x", "--ca-pass", "nope"]);
    assert!(err.contains("wrong passphrase"), "{err}");
}

#[test]
fn openssl_made_keys_load_and_public_key_matches_openssl() {
    let pki = make_pki("ec");
    // client-public.pem is exactly what `openssl pkey -pubout` derives from client.pem.
    let out = tool(
        "openssl",
        &["pkey", "-in", s(&pki.path("client.pem")), "-pubout"],
    );
    let ours = std::fs::read_to_string(pki.path("client-public.pem")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), ours);

    // A key encrypted by OpenSSL (PBES2/AES-256) loads with its passphrase.
    let enc = pki.path("openssl-enc.pem");
    let out = tool(
        "openssl",
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            s(&pki.path("server.pem")),
            "-passout",
            "pass:pw",
            "-out",
            s(&enc),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key =
        kc_certs::tls::load_private_key(&enc, Some("pw")).expect("load openssl-encrypted key");
    assert!(matches!(key, rustls_pki_types::PrivateKeyDer::Pkcs8(_)));
    let err = kc_certs::tls::load_private_key(&enc, Some("nope")).unwrap_err();
    assert!(
        matches!(err, kc_certs::tls::TlsError::WrongPassphrase { .. }),
        "{err}"
    );
    let err = kc_certs::tls::load_private_key(&enc, None).unwrap_err();
    assert!(
        matches!(err, kc_certs::tls::TlsError::PassphraseRequired { .. }),
        "{err}"
    );
}

#[test]
fn der_output_is_what_openssl_writes() {
    let pki = make_pki("ec");
    let ours = pki.path("ca.cer");
    kc_ok(&["der", s(&pki.ca()), s(&ours)]);
    let theirs = pki.path("ca-openssl.cer");
    let out = tool(
        "openssl",
        &[
            "x509",
            "-in",
            s(&pki.ca()),
            "-inform",
            "PEM",
            "-out",
            s(&theirs),
            "-outform",
            "DER",
        ],
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(&theirs).unwrap()
    );
    // Refuses to overwrite without --force.
    let err = kc_err(&["der", s(&pki.ca()), s(&ours)]);
    assert!(err.contains("--force"), "{err}");
    kc_ok(&["der", "--force", s(&pki.ca()), s(&ours)]);
}
