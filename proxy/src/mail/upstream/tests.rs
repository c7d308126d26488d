//! The reply parsing, and the login dialogues against scripted fake
//! nodes.

use super::*;
use tokio::net::TcpListener;

#[test]
fn imap_reply_parsing() {
    assert_eq!(
        tagged(b"kcp3 OK [CAPABILITY IMAP4rev1 IDLE] Logged in", "kcp3"),
        Some((Status::Ok, &b"[CAPABILITY IMAP4rev1 IDLE] Logged in"[..]))
    );
    assert_eq!(tagged(b"kcp3 no x", "kcp3").map(|t| t.0), Some(Status::No));
    assert_eq!(tagged(b"kcp30 OK", "kcp3"), None);
    assert_eq!(tagged(b"* OK", "kcp3"), None);
    assert_eq!(
        capability_code(b"[CAPABILITY IMAP4rev1 IDLE] Logged in").as_deref(),
        Some("IMAP4rev1 IDLE")
    );
    assert_eq!(capability_code(b"[ALERT] x"), None);
    assert_eq!(
        untagged_capability(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN").as_deref(),
        Some("IMAP4rev1 AUTH=PLAIN")
    );
    assert!(has_capability("IMAP4rev1 sasl-ir ID", "SASL-IR"));
    assert!(!has_capability("IMAP4rev1 IDLE", "ID"));
    assert!(imap_temporary(b"[UNAVAILABLE] try later"));
    assert!(!imap_temporary(b"[AUTHENTICATIONFAILED] no"));
    assert!(!imap_temporary(b"Login failed"));
    assert_eq!(response_code(b"[SYS/TEMP] x").as_deref(), Some("SYS/TEMP"));
}

#[test]
fn forwarding_commands() {
    let c = ClientInfo {
        peer: "192.0.2.7:40001".parse().unwrap(),
        local: "[2001:db8::1]:993".parse().unwrap(),
    };
    assert_eq!(
        imap_id_command("t", &c),
        "t ID (\"x-originating-ip\" \"192.0.2.7\" \"x-originating-port\" \"40001\" \
         \"x-connected-ip\" \"2001:db8::1\" \"x-connected-port\" \"993\")\r\n"
    );
    assert_eq!(xclient_command(&c), "XCLIENT ADDR=192.0.2.7 PORT=40001\r\n");
}

#[test]
fn pop3_capa_parsing() {
    let caps: Vec<Vec<u8>> = ["TOP", "SASL PLAIN LOGIN", "XCLIENT"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    assert!(capa_has_xclient(&caps));
    assert!(capa_has_sasl_plain(&caps));
    assert!(!capa_has_sasl_plain(&[b"SASL LOGIN".to_vec()]));
    assert!(!capa_has_xclient(&[b"XCLIENTS".to_vec()]));
    assert!(greeting_has_xclient(
        b"+OK [XCLIENT] Dovecot (Debian) ready."
    ));
    assert!(!greeting_has_xclient(b"+OK Dovecot ready."));
    assert!(pop3_temporary(b"-ERR [SYS/TEMP] down"));
    assert!(pop3_temporary(b"-ERR [IN-USE] locked"));
    assert!(!pop3_temporary(b"-ERR [AUTH] Authentication failed."));
}

// The login dialogues against scripted fake nodes: the paths Dovecot does
// not take in the end-to-end test (LOGIN literals, AUTHENTICATE without
// SASL-IR, USER/PASS, CAPA XCLIENT, TLS and STARTTLS to the node, a silent
// node).

struct Fake {
    greeting: &'static str,
    implicit: bool,
    // (expected line prefix, reply; "STARTTLS" = reply OK and start TLS)
    script: Vec<(&'static str, &'static str)>,
}

fn tls_pair() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let provider = kc_certs::tls::provider();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = cert.der().clone();
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![der.clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

async fn start(
    fake: Fake,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (SocketAddr, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let wait = Duration::from_secs(5);
        let mut s = MailStream::Plain(tcp);
        if fake.implicit {
            s = crate::mail::stream::accept_tls(s, tls.clone().unwrap(), wait)
                .await
                .unwrap();
        }
        let mut conn = LineConn::new(s, 4096, wait);
        conn.send(fake.greeting.as_bytes()).await.unwrap();
        let mut got = Vec::new();
        for (expect, reply) in fake.script {
            let line = String::from_utf8_lossy(&conn.line().await.unwrap()).into_owned();
            assert!(
                line.starts_with(expect),
                "got {line:?}, expected {expect:?}"
            );
            got.push(line);
            if reply == "STARTTLS" {
                let ok: &[u8] = if expect == "STLS" {
                    b"+OK go\r\n"
                } else {
                    b"kcp0 OK go\r\n"
                };
                conn.send(ok).await.unwrap();
                conn.stream =
                    crate::mail::stream::accept_tls(conn.stream, tls.clone().unwrap(), wait)
                        .await
                        .unwrap();
                continue;
            }
            conn.send(reply.as_bytes()).await.unwrap();
        }
        got
    });
    (addr, task)
}

fn target(addr: SocketAddr, mode: UpstreamTls, tls: Option<Arc<rustls::ClientConfig>>) -> Target {
    Target {
        addr,
        host: "localhost".into(),
        mode,
        tls,
        connect_timeout: Duration::from_secs(5),
        reply_timeout: Duration::from_secs(5),
    }
}

fn client() -> ClientInfo {
    ClientInfo {
        peer: "192.0.2.7:40001".parse().unwrap(),
        local: "192.0.2.1:143".parse().unwrap(),
    }
}

fn creds() -> Credentials {
    Credentials {
        user: "alice".into(),
        password: b"se cret".to_vec(),
    }
}

#[tokio::test]
async fn imap_login_with_literals_when_the_node_has_no_auth_plain() {
    let (addr, node) = start(
        Fake {
            greeting: "* OK [CAPABILITY IMAP4rev1] hi\r\n",
            implicit: false,
            script: vec![
                ("kcp3 LOGIN {5}", "+ go\r\n"),
                ("alice {7}", "+ go\r\n"),
                (
                    "se cret",
                    "* FLAGS ()\r\nkcp3 OK [CAPABILITY IMAP4rev1 IDLE] done\r\n",
                ),
            ],
        },
        None,
    )
    .await;
    let out = imap_login(&target(addr, UpstreamTls::Plain, None), &client(), &creds())
        .await
        .unwrap();
    let Outcome::LoggedIn(l) = out else {
        panic!("{out:?}")
    };
    assert_eq!(l.capability.as_deref(), Some("IMAP4rev1 IDLE"));
    assert_eq!(l.untagged, vec![b"* FLAGS ()".to_vec()]);
    assert_eq!(node.await.unwrap().len(), 3);
}

#[tokio::test]
async fn imap_authenticate_without_sasl_ir_and_a_temporary_no() {
    let (addr, node) = start(
        Fake {
            greeting: "* OK hi\r\n",
            implicit: false,
            script: vec![
                (
                    "kcp1 CAPABILITY",
                    "* CAPABILITY IMAP4rev1 ID AUTH=PLAIN\r\nkcp1 OK\r\n",
                ),
                (
                    "kcp2 ID (\"x-originating-ip\" \"192.0.2.7\"",
                    "* ID NIL\r\nkcp2 OK\r\n",
                ),
                ("kcp3 AUTHENTICATE PLAIN", "+ \r\n"),
                (
                    "AGFsaWNlAHNlIGNyZXQ=",
                    "kcp3 NO [UNAVAILABLE] store down\r\n",
                ),
            ],
        },
        None,
    )
    .await;
    let out = imap_login(&target(addr, UpstreamTls::Plain, None), &client(), &creds())
        .await
        .unwrap();
    assert!(
        matches!(
            out,
            Outcome::Rejected {
                temporary: true,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(node.await.unwrap().len(), 4);
}

#[tokio::test]
async fn pop3_user_pass_with_xclient_from_capa() {
    let (addr, node) = start(
        Fake {
            greeting: "+OK hi\r\n",
            implicit: false,
            script: vec![
                ("CAPA", "+OK\r\nUSER\r\nXCLIENT\r\n.\r\n"),
                ("XCLIENT ADDR=192.0.2.7 PORT=40001", "+OK\r\n"),
                ("USER alice", "+OK\r\n"),
                ("PASS se cret", "-ERR [AUTH] nope\r\n"),
            ],
        },
        None,
    )
    .await;
    let out = pop3_login(&target(addr, UpstreamTls::Plain, None), &client(), &creds())
        .await
        .unwrap();
    assert!(
        matches!(
            out,
            Outcome::Rejected {
                temporary: false,
                ..
            }
        ),
        "{out:?}"
    );
    node.await.unwrap();
}

#[tokio::test]
async fn tls_and_starttls_towards_the_node() {
    kc_certs::tls::install_crypto_provider();
    let (server, client_tls) = tls_pair();
    let (addr, node) = start(
        Fake {
            greeting: "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n",
            implicit: false,
            script: vec![
                ("kcp0 STARTTLS", "STARTTLS"),
                (
                    "kcp1 CAPABILITY",
                    "* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\nkcp1 OK\r\n",
                ),
                ("kcp3 AUTHENTICATE PLAIN AGFsaWNl", "kcp3 OK done\r\n"),
            ],
        },
        Some(server.clone()),
    )
    .await;
    let t = target(addr, UpstreamTls::StartTls, Some(client_tls.clone()));
    let out = imap_login(&t, &client(), &creds()).await.unwrap();
    let Outcome::LoggedIn(l) = out else {
        panic!("{out:?}")
    };
    assert!(l.conn.stream.is_tls());
    assert_eq!(l.capability, None);
    node.await.unwrap();

    let (addr, node) = start(
        Fake {
            greeting: "+OK hi\r\n",
            implicit: true,
            script: vec![
                ("CAPA", "+OK\r\nSASL PLAIN\r\n.\r\n"),
                ("AUTH PLAIN AGFsaWNl", "+OK in\r\n"),
            ],
        },
        Some(server),
    )
    .await;
    let t = target(addr, UpstreamTls::Implicit, Some(client_tls));
    let out = pop3_login(&t, &client(), &creds()).await.unwrap();
    assert!(matches!(out, Outcome::LoggedIn(_)), "{out:?}");
    node.await.unwrap();
}

#[tokio::test]
async fn a_silent_or_absent_node_fails_in_time() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut t = target(addr, UpstreamTls::Plain, None);
    t.reply_timeout = Duration::from_millis(200);
    let err = imap_login(&t, &client(), &creds()).await.unwrap_err();
    assert!(
        matches!(err, UpstreamError::Io(ref e) if e.kind() == io::ErrorKind::TimedOut),
        "{err}"
    );
    drop(listener);
    let err = pop3_login(&t, &client(), &creds()).await.unwrap_err();
    assert!(matches!(err, UpstreamError::Connect { .. }), "{err}");
}
