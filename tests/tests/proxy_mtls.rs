//! The client-certificate listener of kc-proxy, probed with real clients:
//! `openssl s_client` and `curl --cert`.

use std::io::Write;
use std::process::{Command, Stdio};

use kc_tests::proxy_support::{curl, start_edge, EchoNode, Pki, Scratch};
use kc_tests::require_tool;

/// Runs `openssl s_client`, sends one HTTP request and returns everything
/// it printed.
fn s_client(port: u16, pki: &Pki, cert: Option<&str>) -> String {
    let mut cmd = Command::new(require_tool("openssl"));
    cmd.args([
        "s_client",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-servername",
        "localhost",
    ])
    .arg("-CAfile")
    .arg(pki.file("ca.pem"))
    .args(["-ign_eof", "-alpn", "http/1.1"]);
    if let Some(name) = cert {
        cmd.arg("-cert")
            .arg(pki.file(&format!("{name}.pem")))
            .arg("-key")
            .arg(pki.file(&format!("{name}.key")));
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl s_client");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin
            .write_all(b"GET /z1/mtls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    }
    let out = child.wait_with_output().expect("s_client output");
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn required_client_certificates() {
    let dir = Scratch::new("mtls");
    let pki = Pki::new(&dir.0);
    let node = EchoNode::start();
    let edge = start_edge(
        &dir.0,
        &pki,
        &format!(
            "node_source = static\nnodes = z1=http://127.0.0.1:{}\nssl_verify_client = off\nssl_verify_client_ports = HTTPS_PORT:required\nssl_verify_file = {}\n",
            node.port,
            pki.file("ca.pem").display()
        ),
    );
    let ca = pki.file("ca.pem").display().to_string();
    let url = edge.url("/z1/mtls");

    // openssl s_client: no certificate, a certificate from another CA, a good one.
    let none = s_client(edge.https, &pki, None);
    assert!(!none.contains("HTTP/1.1 200"), "{none}");
    assert!(none.to_ascii_lowercase().contains("alert"), "{none}");
    let stranger = s_client(edge.https, &pki, Some("stranger"));
    assert!(!stranger.contains("HTTP/1.1 200"), "{stranger}");
    assert!(
        stranger.to_ascii_lowercase().contains("alert"),
        "{stranger}"
    );
    let good = s_client(edge.https, &pki, Some("client"));
    assert!(good.contains("HTTP/1.1 200"), "{good}\n{}", edge.proc.log());
    assert!(good.contains("GET /z1/mtls HTTP/1.1"), "{good}");

    // curl: the same three cases.
    let r = curl(&["--cacert", &ca, &url]);
    assert_ne!(r.code, 0, "{r:?}");
    assert_eq!(r.status, 0, "{r:?}");
    let stranger_cert = pki.file("stranger.pem").display().to_string();
    let stranger_key = pki.file("stranger.key").display().to_string();
    let r = curl(&[
        "--cacert",
        &ca,
        "--cert",
        &stranger_cert,
        "--key",
        &stranger_key,
        &url,
    ]);
    assert_ne!(r.code, 0, "{r:?}");
    assert_eq!(r.status, 0, "{r:?}");
    let cert = pki.file("client.pem").display().to_string();
    let key = pki.file("client.key").display().to_string();
    let r = curl(&["--cacert", &ca, "--cert", &cert, "--key", &key, &url]);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("GET /z1/mtls HTTP/1.1"), "{}", r.body);
}

#[test]
fn sni_picks_the_matching_certificate() {
    let dir = Scratch::new("sni");
    let pki = Pki::new(&dir.0);
    let node = EchoNode::start();
    let edge = start_edge(
        &dir.0,
        &pki,
        &format!(
            "node_source = static\nnodes = z1=http://127.0.0.1:{}\nssl_sni_certificates = other.test={},{}\n",
            node.port,
            pki.file("other-edge.pem").display(),
            pki.file("other-edge.key").display()
        ),
    );
    let ca = pki.file("ca.pem").display().to_string();
    let other = format!("other.test:{}:127.0.0.1", edge.https);
    let r = curl(&[
        "--cacert",
        &ca,
        "--resolve",
        &other,
        &format!("https://other.test:{}/z1/sni", edge.https),
    ]);
    assert_eq!(r.status, 200, "{r:?}");
    let r = curl(&["--cacert", &ca, &edge.url("/z1/default")]);
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn certificates_reload_on_sighup() {
    let dir = Scratch::new("reload");
    let pki = Pki::new(&dir.0);
    let node = EchoNode::start();
    // The served files are copies, so that the test can replace them.
    let cert = dir.0.join("served.pem");
    let key = dir.0.join("served.key");
    std::fs::copy(pki.file("edge.pem"), &cert).expect("copy cert");
    std::fs::copy(pki.file("edge.key"), &key).expect("copy key");
    let mut edge = start_edge(
        &dir.0,
        &pki,
        &format!(
            "node_source = static\nnodes = z1=http://127.0.0.1:{}\nssl_certificate_file = {}\nssl_private_key_file = {}\n",
            node.port,
            cert.display(),
            key.display()
        ),
    );
    let ca = pki.file("ca.pem").display().to_string();
    let other = format!("other.test:{}:127.0.0.1", edge.https);
    let other_url = format!("https://other.test:{}/z1/x", edge.https);
    assert_eq!(curl(&["--cacert", &ca, &edge.url("/z1/x")]).status, 200);
    assert_ne!(
        curl(&["--cacert", &ca, "--resolve", &other, &other_url]).code,
        0
    );
    std::fs::copy(pki.file("other-edge.pem"), &cert).expect("replace cert");
    std::fs::copy(pki.file("other-edge.key"), &key).expect("replace key");
    // SAFETY: kill(2) on the child we started.
    unsafe { libc::kill(edge.proc.pid() as i32, libc::SIGHUP) };
    // The reload is asynchronous: poll until new handshakes see the new certificate.
    let mut ok = false;
    for _ in 0..100 {
        if curl(&["--cacert", &ca, "--resolve", &other, &other_url]).status == 200 {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        ok,
        "new certificate not served after SIGHUP\n{}",
        edge.proc.log()
    );
    assert!(edge
        .proc
        .signal_and_wait(0, std::time::Duration::from_millis(1))
        .is_none());
}
