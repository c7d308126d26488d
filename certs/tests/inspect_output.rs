//! The lines `kc-certs inspect` prints.

mod common;

use common::*;

fn line<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{text}"))
}

fn assert_fingerprint(text: &str) {
    let fp = line(text, "SHA-256:").trim_start_matches("SHA-256:").trim();
    let parts: Vec<&str> = fp.split(':').collect();
    assert_eq!(parts.len(), 32, "{fp}");
    assert!(
        parts.iter().all(|p| p.len() == 2
            && p.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())),
        "{fp}"
    );
}

#[test]
fn inspect_server_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let d = s(tmp.path()).to_string();
    kc_ok(&["ca", "--dir", &d, "--cn", "Test CA", "--org", "Example"]);
    kc_ok(&[
        "server",
        "--dir",
        &d,
        "--cn",
        "mail.example.com",
        "--san",
        "mail.example.com",
        "--san",
        "192.0.2.1",
        "--org",
        "Example",
    ]);
    let out = kc_ok(&["inspect", &format!("{d}/server.pem")]);
    assert!(
        out.contains("Private key:    PKCS#8 EC P-256, not encrypted"),
        "{out}"
    );
    assert_eq!(
        line(&out, "Subject:"),
        "Subject:        O=Example, OU=Server, CN=mail.example.com"
    );
    assert_eq!(
        line(&out, "Issuer:"),
        "Issuer:         O=Example, OU=Certificate Authority, CN=Test CA"
    );
    assert_eq!(
        line(&out, "SANs:"),
        "SANs:           DNS:mail.example.com, IP:192.0.2.1"
    );
    assert_eq!(line(&out, "Key:"), "Key:            EC P-256 (256 bits)");
    assert_eq!(line(&out, "CA:"), "CA:             no");
    assert_eq!(line(&out, "Ext. key usage:"), "Ext. key usage: TLS server");
    assert!(line(&out, "Not after:").contains("(valid, 109"), "{out}");
    assert_fingerprint(&out);

    // The fingerprint is the one OpenSSL computes.
    let o = tool(
        "openssl",
        &[
            "x509",
            "-in",
            &format!("{d}/server.pem"),
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
    );
    let theirs = String::from_utf8_lossy(&o.stdout);
    let theirs = theirs.trim().rsplit('=').next().unwrap();
    assert!(
        line(&out, "SHA-256:").ends_with(theirs),
        "{out} vs {theirs}"
    );
}

#[test]
fn inspect_ca_rsa_der_and_public_key() {
    let tmp = tempfile::tempdir().unwrap();
    let d = s(tmp.path()).to_string();
    kc_ok(&[
        "ca",
        "--dir",
        &d,
        "--cn",
        "RSA CA",
        "--key-type",
        "rsa3072",
        "--pass",
        "capw",
    ]);
    let out = kc_ok(&["inspect", &format!("{d}/demoCA/cacert.pem")]);
    assert_eq!(line(&out, "CA:"), "CA:             yes");
    assert_eq!(line(&out, "Key:"), "Key:            RSA 3072 bits");
    assert_eq!(line(&out, "SANs:"), "SANs:           (none)");
    assert!(
        line(&out, "Not after:").contains("(valid, 3649 days left)")
            || line(&out, "Not after:").contains("(valid, 3650 days left)"),
        "{out}"
    );
    let out = kc_ok(&["inspect", &format!("{d}/demoCA/private/cakey.pem")]);
    assert!(
        out.contains("Private key:    PKCS#8, encrypted (passphrase required)"),
        "{out}"
    );

    kc_ok(&[
        "der",
        &format!("{d}/demoCA/cacert.pem"),
        &format!("{d}/ca.cer"),
    ]);
    let out = kc_ok(&["inspect", &format!("{d}/ca.cer")]);
    assert!(out.starts_with("Certificate (DER)"), "{out}");
    assert_fingerprint(&out);

    kc_ok(&[
        "client",
        "--dir",
        &d,
        "--cn",
        "spooler",
        "--ca-pass",
        "capw",
    ]);
    let out = kc_ok(&["inspect", &format!("{d}/client-public.pem")]);
    assert_eq!(
        line(&out, "Public key:"),
        "Public key:     EC P-256 (256 bits)"
    );
    let out = kc_ok(&["inspect", &format!("{d}/client.pem")]);
    assert_eq!(line(&out, "Ext. key usage:"), "Ext. key usage: TLS client");
}

#[test]
fn inspect_rejects_non_certificates() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("junk.txt");
    std::fs::write(&f, "hello").unwrap();
    let err = kc_err(&["inspect", s(&f)]);
    assert!(err.contains("no certificate found"), "{err}");
}
