//! A rustls listener built by the `tls` module, with required client verification,
//! completes handshakes with `openssl s_client` and `curl` (real OpenSSL peers), and
//! refuses a client without a certificate.

mod common;

use std::process::Stdio;
use std::sync::Arc;

use common::*;
use kc_certs::tls::{ClientAuth, ClientTls, ReloadingServerConfig, ServerTls, SslKeys};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

const BODY: &str = "kc-ok";

/// What the listener saw on one connection.
#[derive(Debug)]
enum Outcome {
    /// Handshake done; whether the client certificate's key is in sslkeys_path.
    Accepted {
        client_cert: bool,
        sslkey_match: bool,
    },
    Refused(String),
}

/// Serves HTTP/1.0 "kc-ok" over TLS, taking the configuration per connection from
/// `config` (as a SIGHUP-aware listener does), reporting each outcome.
async fn serve(
    config: Arc<ReloadingServerConfig>,
    sslkeys: Option<SslKeys>,
) -> (u16, mpsc::UnboundedReceiver<Outcome>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = TlsAcceptor::from(config.current());
            let tx = tx.clone();
            let sslkeys = sslkeys.clone();
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(mut tls) => {
                        let peer = tls
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|c| c.first().cloned());
                        let sslkey_match = match (&peer, &sslkeys) {
                            (Some(cert), Some(keys)) => keys.matching_key(cert).unwrap().is_some(),
                            _ => false,
                        };
                        let mut buf = vec![0u8; 8192];
                        let mut seen = Vec::new();
                        // Read the request head (bounded), then answer and close.
                        while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 8192 {
                            match tls.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => seen.extend_from_slice(&buf[..n]),
                            }
                        }
                        let resp = format!(
                            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
                            BODY.len()
                        );
                        let _ = tls.write_all(resp.as_bytes()).await;
                        let _ = tls.shutdown().await;
                        let _ = tx.send(Outcome::Accepted {
                            client_cert: peer.is_some(),
                            sslkey_match,
                        });
                    }
                    Err(e) => {
                        // What a service logs: the readable cause, not rustls' enum.
                        let why = kc_certs::tls::handshake_error(&e)
                            .map(|t| t.to_string())
                            .unwrap_or_else(|| e.to_string());
                        let _ = tx.send(Outcome::Refused(why));
                    }
                }
            });
        }
    });
    (port, rx)
}

fn server_spec(pki: &Pki, client_auth: ClientAuth) -> ServerTls {
    ServerTls {
        cert_file: pki.path("server.pem"),
        ca_file: Some(pki.ca()),
        client_auth,
        alpn: vec![b"http/1.1".to_vec()],
        ..Default::default()
    }
}

async fn s_client(port: u16, ca: &str, cert: Option<&str>, extra: &[&str]) -> (bool, String) {
    require_tool("openssl");
    let mut args = vec![
        "s_client".to_string(),
        "-connect".into(),
        format!("127.0.0.1:{port}"),
        "-servername".into(),
        "localhost".into(),
        "-CAfile".into(),
        ca.into(),
        "-verify_return_error".into(),
        "-ign_eof".into(),
    ];
    if let Some(cert) = cert {
        args.extend(["-cert".into(), cert.into(), "-key".into(), cert.into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut child = tokio::process::Command::new("openssl")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl s_client");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn curl(port: u16, ca: &str, cert: Option<&str>) -> (bool, String) {
    require_tool("curl");
    let url = format!("https://localhost:{port}/");
    let mut args = vec!["--silent", "--show-error", "--cacert", ca];
    if let Some(cert) = cert {
        args.extend(["--cert", cert, "--key", cert]);
    }
    args.push(&url);
    let out = tokio::process::Command::new("curl")
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("spawn curl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_and_curl_handshake_with_required_client_auth() {
    kc_certs::tls::install_crypto_provider();
    let pki = make_pki("ec");
    let sslkeys_dir = pki.path("sslkeys");
    std::fs::create_dir(&sslkeys_dir).unwrap();
    std::fs::copy(
        pki.path("client-public.pem"),
        sslkeys_dir.join("client-public.pem"),
    )
    .unwrap();
    std::fs::write(sslkeys_dir.join("README"), "not a key").unwrap();
    let config =
        Arc::new(ReloadingServerConfig::new(server_spec(&pki, ClientAuth::Required)).unwrap());
    let (port, mut outcomes) = serve(config, Some(SslKeys::new(&sslkeys_dir))).await;
    let ca = s(&pki.ca()).to_string();
    let client = s(&pki.path("client.pem")).to_string();

    for extra in [&["-tls1_3"][..], &["-tls1_2"][..]] {
        let (ok, text) = s_client(port, &ca, Some(&client), extra).await;
        assert!(ok, "s_client {extra:?} failed:\n{text}");
        assert!(
            text.contains(BODY),
            "s_client {extra:?} got no response:\n{text}"
        );
        assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
        match outcomes.recv().await.unwrap() {
            Outcome::Accepted {
                client_cert,
                sslkey_match,
            } => {
                assert!(
                    client_cert && sslkey_match,
                    "s_client {extra:?}: client cert not seen or not in sslkeys"
                );
            }
            Outcome::Refused(e) => panic!("listener refused s_client {extra:?}: {e}"),
        }
    }

    let (ok, text) = curl(port, &ca, Some(&client)).await;
    assert!(
        ok && text.contains(BODY),
        "curl with client cert failed:\n{text}"
    );
    assert!(matches!(
        outcomes.recv().await.unwrap(),
        Outcome::Accepted {
            client_cert: true,
            ..
        }
    ));

    // No client certificate: refused by the listener; neither tool gets the body.
    let (_, text) = curl(port, &ca, None).await;
    assert!(
        !text.contains(BODY),
        "curl without a cert got through:\n{text}"
    );
    match outcomes.recv().await.unwrap() {
        Outcome::Refused(e) => assert!(e.to_lowercase().contains("certificate"), "{e}"),
        other => panic!("curl without a cert was not refused: {other:?}"),
    }
    let (_, text) = s_client(port, &ca, None, &["-tls1_3"]).await;
    assert!(
        !text.contains(BODY),
        "s_client without a cert got through:\n{text}"
    );
    assert!(matches!(
        outcomes.recv().await.unwrap(),
        Outcome::Refused(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_material_handshakes_with_curl() {
    kc_certs::tls::install_crypto_provider();
    let pki = make_pki("rsa2048");
    let config =
        Arc::new(ReloadingServerConfig::new(server_spec(&pki, ClientAuth::Required)).unwrap());
    let (port, mut outcomes) = serve(config, None).await;
    let (ok, text) = curl(port, s(&pki.ca()), Some(s(&pki.path("client.pem")))).await;
    assert!(ok && text.contains(BODY), "{text}");
    assert!(matches!(
        outcomes.recv().await.unwrap(),
        Outcome::Accepted {
            client_cert: true,
            ..
        }
    ));
}

async fn rustls_get(port: u16, client: &ClientTls) -> Result<String, String> {
    let config = client.build().map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(b"GET / HTTP/1.0\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_client_config_and_optional_mode_and_other_ca() {
    kc_certs::tls::install_crypto_provider();
    let pki = make_pki("ec");
    let other = make_pki_named("ec", "Other CA");

    // Optional: a client without a certificate is fine; one from another CA is not.
    let config =
        Arc::new(ReloadingServerConfig::new(server_spec(&pki, ClientAuth::Optional)).unwrap());
    let (port, mut outcomes) = serve(config, None).await;
    let anon = ClientTls {
        ca_file: Some(pki.ca()),
        ..Default::default()
    };
    assert!(rustls_get(port, &anon).await.unwrap().contains(BODY));
    assert!(matches!(
        outcomes.recv().await.unwrap(),
        Outcome::Accepted {
            client_cert: false,
            ..
        }
    ));

    let with_cert = ClientTls {
        ca_file: Some(pki.ca()),
        client_cert: Some(pki.path("client.pem")),
        ..Default::default()
    };
    assert!(rustls_get(port, &with_cert).await.unwrap().contains(BODY));
    assert!(matches!(
        outcomes.recv().await.unwrap(),
        Outcome::Accepted {
            client_cert: true,
            ..
        }
    ));

    let foreign = ClientTls {
        ca_file: Some(pki.ca()),
        client_cert: Some(other.path("client.pem")),
        ..Default::default()
    };
    let _ = rustls_get(port, &foreign).await;
    match outcomes.recv().await.unwrap() {
        Outcome::Refused(e) => assert!(e.contains("another CA (unknown issuer)"), "{e}"),
        other => panic!("foreign client cert accepted: {other:?}"),
    }

    // The client pins its CA: a server from another CA is refused with a readable error.
    let pinned_other = ClientTls {
        ca_file: Some(other.ca()),
        ..Default::default()
    };
    let err = rustls_get(port, &pinned_other).await.unwrap_err();
    assert!(
        err.contains("UnknownIssuer") || err.contains("unknown issuer"),
        "{err}"
    );
    let _ = outcomes.recv().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_the_certificate_without_dropping_connections() {
    kc_certs::tls::install_crypto_provider();
    let pki = make_pki("ec");
    let spec = server_spec(&pki, ClientAuth::Off);
    let reloading = Arc::new(ReloadingServerConfig::new(spec).unwrap());
    let before = reloading.resolver().current().cert[0].clone();

    // An established connection, opened before the reload.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let old_config = reloading.current();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = TlsAcceptor::from(old_config).accept(tcp).await.unwrap();
        let mut line = [0u8; 5];
        tls.read_exact(&mut line).await.unwrap();
        tls.write_all(&line).await.unwrap();
        tls.shutdown().await.unwrap();
    });
    let client = ClientTls {
        ca_file: Some(pki.ca()),
        ..Default::default()
    }
    .build()
    .unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut conn = TlsConnector::from(client)
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();

    // A new server certificate on disk, then reload.
    let d = s(&pki.dir).to_string();
    kc_ok(&["server", "--dir", &d, "--cn", "localhost", "--force"]);
    reloading.reload().unwrap();
    let after = reloading.resolver().current().cert[0].clone();
    assert_ne!(before, after, "reload did not pick up the new certificate");

    // The old connection still works.
    conn.write_all(b"hello").await.unwrap();
    let mut echo = [0u8; 5];
    conn.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"hello");
    server.await.unwrap();

    // A broken file keeps the old material.
    std::fs::write(pki.path("server.pem"), "garbage").unwrap();
    assert!(reloading.reload().is_err());
    assert_eq!(reloading.resolver().current().cert[0], after);
}

/// Writes a client chain (leaf + intermediate, both made with rcgen under the kc CA).
fn client_chain_with_intermediate(pki: &Pki) -> std::path::PathBuf {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let key = kc_certs::tls::load_private_key(&pki.ca_key(), None).unwrap();
    let root = Issuer::from_ca_cert_pem(
        &std::fs::read_to_string(pki.ca()).unwrap(),
        kc_certs::authority::key_pair_from_der(&key).unwrap(),
    )
    .unwrap();
    let mut inter = CertificateParams::new(Vec::<String>::new()).unwrap();
    inter
        .distinguished_name
        .push(DnType::CommonName, "Intermediate");
    inter.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    inter.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let inter_key = KeyPair::generate().unwrap();
    let inter_cert = inter.signed_by(&inter_key, &root).unwrap();
    let inter_issuer = Issuer::new(inter, inter_key);
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "deep client");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &inter_issuer).unwrap();
    let path = pki.path("deep-client.pem");
    std::fs::write(
        &path,
        format!(
            "{}{}{}",
            leaf_key.serialize_pem(),
            leaf_cert.pem(),
            inter_cert.pem()
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_depth_limits_client_chains() {
    kc_certs::tls::install_crypto_provider();
    let pki = make_pki("ec");
    let deep = client_chain_with_intermediate(&pki);
    let client = ClientTls {
        ca_file: Some(pki.ca()),
        client_cert: Some(deep),
        ..Default::default()
    };
    for (depth, accepted) in [(0u8, false), (1, true), (5, true)] {
        let spec = ServerTls {
            verify_depth: Some(depth),
            ..server_spec(&pki, ClientAuth::Required)
        };
        let config = Arc::new(ReloadingServerConfig::new(spec).unwrap());
        let (port, mut outcomes) = serve(config, None).await;
        let _ = rustls_get(port, &client).await;
        match (outcomes.recv().await.unwrap(), accepted) {
            (
                Outcome::Accepted {
                    client_cert: true, ..
                },
                true,
            ) => {}
            (Outcome::Refused(e), false) => assert!(e.contains("verify depth is 0"), "{e}"),
            (other, _) => panic!("depth {depth}: unexpected {other:?}"),
        }
    }
}

/// `tls_min_proto = tls1.3`: openssl forced to TLS 1.2 is refused, TLS 1.3
/// still works; without the flag TLS 1.2 is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls13_only_refuses_tls12() {
    kc_certs::tls::install_crypto_provider();
    let pki = make_pki("ec");
    let mut spec = server_spec(&pki, ClientAuth::Off);
    spec.tls13_only = true;
    let config = Arc::new(ReloadingServerConfig::new(spec).unwrap());
    let (port, _outcomes) = serve(config, None).await;
    let (ok12, text12) = s_client(port, s(&pki.ca()), None, &["-tls1_2"]).await;
    assert!(
        !ok12 || !text12.contains(BODY),
        "TLS 1.2 accepted: {text12}"
    );
    let (ok13, text13) = s_client(port, s(&pki.ca()), None, &["-tls1_3"]).await;
    assert!(ok13 && text13.contains(BODY), "{text13}");

    let config = Arc::new(ReloadingServerConfig::new(server_spec(&pki, ClientAuth::Off)).unwrap());
    let (port, _outcomes) = serve(config, None).await;
    let (ok12, text12) = s_client(port, s(&pki.ca()), None, &["-tls1_2"]).await;
    assert!(ok12 && text12.contains(BODY), "{text12}");
}
