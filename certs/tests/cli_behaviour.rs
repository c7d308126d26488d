//! File handling of the kc-certs commands: permissions, --force, combine, --install,
//! and never prompting without a terminal.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;
use kc_certs::tls::{self, TlsError};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn keys_are_private_and_nothing_is_overwritten() {
    let pki = make_pki("ec");
    assert_eq!(mode(&pki.path("server.pem")), 0o600);
    assert_eq!(mode(&pki.path("client.pem")), 0o600);
    assert_eq!(mode(&pki.ca_key()), 0o600);
    assert_eq!(mode(&pki.dir.join("demoCA/private")), 0o700);
    assert_eq!(
        mode(&pki.dir),
        0o700,
        "a --dir created by kc-certs holds keys"
    );
    assert_eq!(mode(&pki.path("client-public.pem")), 0o644);
    assert_eq!(mode(&pki.ca()), 0o644);

    let d = s(&pki.dir).to_string();
    let before = std::fs::read(pki.path("server.pem")).unwrap();
    let err = kc_err(&["server", "--dir", &d, "--cn", "localhost"]);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(before, std::fs::read(pki.path("server.pem")).unwrap());
    let err = kc_err(&["ca", "--dir", &d, "--cn", "Again"]);
    assert!(err.contains("already exists"), "{err}");
    kc_ok(&["server", "--dir", &d, "--cn", "localhost", "--force"]);
    assert_ne!(before, std::fs::read(pki.path("server.pem")).unwrap());
    assert_eq!(mode(&pki.path("server.pem")), 0o600);

    // --force on `ca` moves the old CA aside rather than deleting it.
    kc_ok(&["ca", "--dir", &d, "--cn", "New CA", "--force"]);
    let backups: Vec<_> = std::fs::read_dir(&pki.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("demoCA-backup-")
        })
        .collect();
    assert_eq!(backups.len(), 1);
    assert!(backups[0].path().join("private/cakey.pem").is_file());
}

#[test]
fn ca_layout_and_index_follow_openssl() {
    let pki = make_pki("ec");
    let ca = pki.dir.join("demoCA");
    for f in [
        "cacert.pem",
        "private/cakey.pem",
        "serial",
        "index.txt",
        "crlnumber",
        "newcerts",
        "certs",
        "crl",
    ] {
        assert!(ca.join(f).exists(), "missing demoCA/{f}");
    }
    let index = std::fs::read_to_string(ca.join("index.txt")).unwrap();
    let lines: Vec<&str> = index.lines().collect();
    assert_eq!(lines.len(), 3, "{index}");
    assert!(
        lines[1].starts_with("V\t") && lines[1].ends_with("/OU=Server/CN=localhost"),
        "{index}"
    );
    let serial = std::fs::read_to_string(ca.join("serial")).unwrap();
    assert!(
        serial.trim().chars().all(|c| c.is_ascii_hexdigit()),
        "{serial}"
    );
}

#[test]
fn missing_values_fail_without_prompting() {
    let tmp = tempfile::tempdir().unwrap();
    let d = s(tmp.path()).to_string();
    let err = kc_err(&["ca", "--dir", &d]);
    assert!(
        err.contains("missing --cn") && err.contains("not a terminal"),
        "{err}"
    );
    let err = kc_err(&["server", "--dir", &d, "--cn", "x.example"]);
    assert!(err.contains("missing --ca-cn"), "{err}");
    let err = kc_err(&["server", "--dir", &d]);
    assert!(err.contains("missing --cn"), "{err}");
    let err = kc_err(&["server", "--dir", &d, "--cn", "bad name", "--ca-cn", "CA"]);
    assert!(err.contains("invalid subjectAltName"), "{err}");
    let err = kc_err(&[
        "server",
        "--dir",
        &d,
        "--cn",
        "x.example",
        "--ca-cn",
        "CA",
        "--ou",
        "Certificate Authority",
    ]);
    assert!(err.contains("OU"), "{err}");
    let err = kc_err(&[
        "server",
        "--dir",
        &d,
        "--cn",
        "x.example",
        "--key-type",
        "dsa",
    ]);
    assert!(err.contains("unknown key type"), "{err}");
    let out = kc_ok(&["--version"]);
    assert!(out.starts_with("kc-certs "), "{out}");
}

#[test]
fn client_install_and_custom_names() {
    let tmp = tempfile::tempdir().unwrap();
    let d = s(tmp.path()).to_string();
    let sslkeys = tmp.path().join("etc/kopano/sslkeys");
    let pass_file = tmp.path().join("pw");
    std::fs::write(&pass_file, "from-file\n").unwrap();
    kc_ok(&["ca", "--dir", &d, "--cn", "CA"]);
    let out = kc_ok(&[
        "client",
        "--dir",
        &d,
        "--cn",
        "dagent",
        "--out",
        "dagent.pem",
        "--install",
        s(&sslkeys),
        "--pass-file",
        s(&pass_file),
    ]);
    assert!(
        out.contains("SYSTEM"),
        "the master-key warning is missing: {out}"
    );
    let installed = sslkeys.join("dagent-public.pem");
    assert!(installed.is_file());
    assert!(tmp.path().join("dagent-public.pem").is_file());
    // The installed key is accepted by the sslkeys rule for that certificate only.
    let chain = tls::load_cert_chain(&tmp.path().join("dagent.pem")).unwrap();
    let keys = tls::SslKeys::new(&sslkeys);
    assert_eq!(
        keys.matching_key(&chain[0]).unwrap(),
        Some(installed.clone())
    );
    kc_ok(&["client", "--dir", &d, "--cn", "other"]);
    let other = tls::load_cert_chain(&tmp.path().join("client.pem")).unwrap();
    assert_eq!(keys.matching_key(&other[0]).unwrap(), None);
    // The passphrase from the file protects the key.
    let err = tls::load_private_key(&tmp.path().join("dagent.pem"), None).unwrap_err();
    assert!(matches!(err, TlsError::PassphraseRequired { .. }), "{err}");
    tls::load_private_key(&tmp.path().join("dagent.pem"), Some("from-file")).unwrap();
    // Installing over an existing key needs --force, and nothing is written then.
    std::fs::remove_file(tmp.path().join("dagent.pem")).unwrap();
    std::fs::remove_file(tmp.path().join("dagent-public.pem")).unwrap();
    let err = kc_err(&[
        "client",
        "--dir",
        &d,
        "--cn",
        "dagent",
        "--out",
        "dagent.pem",
        "--install",
        s(&sslkeys),
    ]);
    assert!(err.contains("dagent-public.pem already exists"), "{err}");
    assert!(!tmp.path().join("dagent.pem").exists());
    kc_ok(&[
        "client",
        "--dir",
        &d,
        "--cn",
        "dagent",
        "--out",
        "dagent.pem",
        "--install",
        s(&sslkeys),
        "--force",
    ]);
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(tmp.path().join("dagent-public.pem")).unwrap()
    );
}

#[test]
fn combine_writes_key_cert_chain_and_checks_the_pair() {
    let pki = make_pki("ec");
    let dir = &pki.dir;
    // Split server.pem with openssl, then put it back together.
    let key = dir.join("k.pem");
    let cert = dir.join("c.pem");
    assert!(tool(
        "openssl",
        &["pkey", "-in", s(&pki.path("server.pem")), "-out", s(&key)]
    )
    .status
    .success());
    assert!(tool(
        "openssl",
        &["x509", "-in", s(&pki.path("server.pem")), "-out", s(&cert)]
    )
    .status
    .success());
    let out = dir.join("combined.pem");
    kc_ok(&["combine", s(&key), s(&cert), s(&pki.ca()), s(&out)]);
    assert_eq!(mode(&out), 0o600);
    let (chain, _) = tls::load_cert_chain_and_key(&out, None, None).unwrap();
    assert_eq!(chain.len(), 2);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
    // A key that does not belong to the certificate is refused.
    let err = kc_err(&[
        "combine",
        s(&pki.path("client.pem")),
        s(&cert),
        s(&dir.join("bad.pem")),
    ]);
    assert!(err.contains("does not match"), "{err}");
    assert!(!dir.join("bad.pem").exists());
    // The combined file serves TLS.
    let spec = tls::ServerTls {
        cert_file: out,
        ..Default::default()
    };
    spec.build().unwrap();
}

#[test]
fn loader_errors_are_specific() {
    let pki = make_pki("ec");
    let dir = &pki.dir;
    let mismatch = tls::ServerTls {
        cert_file: pki.path("server.pem"),
        key_file: Some(pki.path("client.pem")),
        ..Default::default()
    };
    assert!(matches!(
        mismatch.build().unwrap_err(),
        TlsError::KeyMismatch { .. }
    ));
    let no_ca = tls::ServerTls {
        cert_file: pki.path("server.pem"),
        client_auth: tls::ClientAuth::Required,
        ..Default::default()
    };
    assert!(matches!(
        no_ca.build().unwrap_err(),
        TlsError::CaRequired { .. }
    ));
    let legacy = dir.join("legacy.pem");
    std::fs::write(&legacy, "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END EC PRIVATE KEY-----\n").unwrap();
    let err = tls::load_private_key(&legacy, Some("x")).unwrap_err();
    assert!(matches!(err, TlsError::LegacyEncryptedKey { .. }));
    assert!(err.to_string().contains("openssl pkcs8 -topk8"), "{err}");
    let err = tls::load_cert_chain(&pki.path("client-public.pem")).unwrap_err();
    assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
    let err = tls::load_roots(Some(&pki.path("client-public.pem")), None).unwrap_err();
    assert!(matches!(err, TlsError::NoCaCertificates { .. }), "{err}");
    let err = tls::load_private_key(&dir.join("missing.pem"), None).unwrap_err();
    assert!(matches!(err, TlsError::Io { .. }), "{err}");
    assert!(err.to_string().contains("missing.pem"), "{err}");
}

#[test]
fn openssl_ca_can_revoke_what_kc_certs_issued() {
    let pki = make_pki("ec");
    let ca_dir = pki.dir.join("demoCA");
    let cnf = pki.dir.join("openssl.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndir = {}\ndatabase = $dir/index.txt\n\
             new_certs_dir = $dir/newcerts\ncertificate = $dir/cacert.pem\nprivate_key = $dir/private/cakey.pem\n\
             serial = $dir/serial\ncrlnumber = $dir/crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n\
             policy = policy_anything\n[ policy_anything ]\ncommonName = supplied\n",
            s(&ca_dir)
        ),
    )
    .unwrap();
    let out = tool(
        "openssl",
        &[
            "ca",
            "-config",
            s(&cnf),
            "-revoke",
            s(&pki.path("server.pem")),
        ],
    );
    assert!(
        out.status.success(),
        "openssl ca -revoke: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = std::fs::read_to_string(ca_dir.join("index.txt")).unwrap();
    let server_line = index
        .lines()
        .find(|l| l.ends_with("/CN=localhost"))
        .unwrap();
    assert!(server_line.starts_with("R\t"), "{index}");
    let crl = pki.dir.join("crl.pem");
    let out = tool(
        "openssl",
        &["ca", "-config", s(&cnf), "-gencrl", "-out", s(&crl)],
    );
    assert!(
        out.status.success(),
        "openssl ca -gencrl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // kc-certs keeps issuing from the same serial file afterwards.
    kc_ok(&[
        "client",
        "--dir",
        s(&pki.dir),
        "--cn",
        "after-openssl",
        "--out",
        "after.pem",
    ]);
}
