//! HTTP/3 through kc-proxy with a quinn + h3 client.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Buf;
use kc_tests::proxy_support::{curl, start_edge, EchoNode, Pki, Scratch};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

async fn h3_get(
    port: u16,
    ca: &std::path::Path,
    path: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("read ca.pem") {
        roots.add(cert.expect("parse ca.pem")).expect("add CA");
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .expect("TLS 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).expect("QUIC TLS config");
    let mut endpoint =
        quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0))).expect("client endpoint");
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // The UDP listener comes up next to the TCP ones; retry briefly.
    let mut conn = None;
    for _ in 0..50 {
        match endpoint.connect(addr, "localhost").expect("connect").await {
            Ok(c) => {
                conn = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let conn = conn.expect("HTTP/3 connection to kc-proxy");
    let (mut driver, mut send) = h3::client::new(h3_quinn::Connection::new(conn))
        .await
        .expect("h3 client");
    let drive = tokio::spawn(async move {
        let _ = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
    });
    let req = http::Request::get(format!("https://localhost:{port}{path}"))
        .body(())
        .expect("request");
    let mut stream = send.send_request(req).await.expect("send request");
    stream.finish().await.expect("finish request");
    let resp = stream.recv_response().await.expect("response");
    let mut body = Vec::new();
    while let Some(mut chunk) = stream.recv_data().await.expect("body") {
        while chunk.has_remaining() {
            let c = chunk.chunk().to_vec();
            chunk.advance(c.len());
            body.extend_from_slice(&c);
        }
    }
    drop(send);
    drive.abort();
    endpoint.close(0u32.into(), b"done");
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    (
        resp.status().as_u16(),
        headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[test]
fn http3_requests_are_routed_like_tcp_ones() {
    let dir = Scratch::new("h3");
    let pki = Pki::new(&dir.0);
    let node = EchoNode::start();
    let edge = start_edge(
        &dir.0,
        &pki,
        &format!(
            "node_source = static\nnodes = z1=http://127.0.0.1:{}\nh3_listen = 127.0.0.1:H3_PORT\n",
            node.port
        ),
    );
    // TCP replies advertise HTTP/3.
    let ca = pki.file("ca.pem");
    let r = curl(&["--cacert", &ca.display().to_string(), &edge.url("/z1/tcp")]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("alt-svc"),
        Some(format!("h3=\":{}\"; ma=86400", edge.h3).as_str())
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (status, headers, body) = rt.block_on(h3_get(edge.h3, &ca, "/z1/over-h3?x=1"));
    assert_eq!(status, 200, "{body}\n{}", edge.proc.log());
    assert!(body.contains("GET /z1/over-h3?x=1 HTTP/1.1"), "{body}");
    assert!(
        body.to_ascii_lowercase().contains("kopano_proxy: yes"),
        "{body}"
    );
    assert!(
        body.to_ascii_lowercase()
            .contains("x-forwarded-for: 127.0.0.1"),
        "{body}"
    );
    assert!(
        headers
            .iter()
            .any(|(n, v)| n == "kopano_proxy" && v == "yes"),
        "{headers:?}"
    );
    let (status, _, _) = rt.block_on(h3_get(edge.h3, &ca, "/nowhere"));
    assert_eq!(status, 404);
}
