//! kc-proxy against plain HTTP test backends (small hyper servers in this
//! file): routing, the proxy header, header sanitising, Location and
//! Destination rewriting, the SOAP redirect safety net, HTTP/2 and a node
//! that dies.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use kc_tests::proxy_support::{curl, start_edge, EdgeProc, Pki};
use kc_tests::require_tool;

/// A running test backend; dropping it (or [`Backend::kill`]) stops it.
struct Backend {
    port: u16,
    rt: Option<tokio::runtime::Runtime>,
}

impl Backend {
    fn start(name: &'static str) -> Backend {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("backend runtime");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind backend");
        let port = listener.local_addr().expect("addr").port();
        rt.spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(name, port, req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(sock), svc)
                        .await;
                });
            }
        });
        Backend { port, rt: Some(rt) }
    }

    /// Stops the backend: listener and every connection close.
    fn kill(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}

fn soap_redirect(path: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="urn:zarafa">"#,
            r#"<SOAP-ENV:Body><ns:getStoreResponse><er>2147483688</er>"#,
            r#"<lpszServerPath>{}</lpszServerPath></ns:getStoreResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"#
        ),
        path
    )
}

/// Echoes the request (method, path, headers, body size) as `key: value`
/// lines. `X-Test-Location`, `X-Test-Content-Location` and `X-Test-URI`
/// become response headers; `X-Test-Soap-Redirect: URL` answers with a SOAP
/// redirect reply instead, encoded as `X-Test-Coding` says.
async fn handle(
    name: &'static str,
    port: u16,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, mut body) = req.into_parts();
    let mut size = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(d) = frame.into_data() {
            size += d.len();
        }
    }
    let get = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    if let Some(url) = get("x-test-soap-redirect") {
        let xml = soap_redirect(&url);
        let mut resp = Response::builder().header("Content-Type", "text/xml; charset=utf-8");
        let body = match get("x-test-coding").as_deref() {
            Some("gzip") => {
                resp = resp.header("Content-Encoding", "gzip");
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(xml.as_bytes()).expect("gzip");
                e.finish().expect("gzip")
            }
            Some("deflate") => {
                resp = resp.header("Content-Encoding", "deflate");
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(xml.as_bytes()).expect("deflate");
                e.finish().expect("deflate")
            }
            _ => xml.into_bytes(),
        };
        return Ok(resp.body(Full::new(Bytes::from(body))).expect("response"));
    }
    let mut text = format!(
        "backend: {name}\nport: {port}\nmethod: {}\npath: {}\nbody-bytes: {size}\n",
        parts.method,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    for (n, v) in &parts.headers {
        text.push_str(&format!(
            "h: {}: {}\n",
            n.as_str(),
            v.to_str().unwrap_or("?")
        ));
    }
    let mut resp = Response::builder().header("Content-Type", "text/plain");
    for (test, real) in [
        ("x-test-location", "Location"),
        ("x-test-content-location", "Content-Location"),
        ("x-test-uri", "URI"),
    ] {
        if let Some(v) = get(test) {
            resp = resp.header(real, v.replace("PORT", &port.to_string()));
        }
    }
    let status = if get("x-test-location").is_some() {
        302
    } else {
        200
    };
    Ok(resp
        .status(status)
        .body(Full::new(Bytes::from(text)))
        .expect("response"))
}

/// Header lines (`h: name: value`) the backend saw, lowercase names.
fn seen(body: &str, name: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("h: "))
        .filter_map(|l| l.split_once(": "))
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.to_string())
        .collect()
}

fn field<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    body.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
}

struct Setup {
    _dir: tempdir::Dir,
    edge: EdgeProc,
    z1: Backend,
    z2: Backend,
    ca: String,
}

mod tempdir {
    /// A scratch folder removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let p = std::env::temp_dir().join(format!("kc-proxy-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).expect("create scratch folder");
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn setup(tag: &str, extra: &str) -> Setup {
    require_tool("curl");
    let dir = tempdir::Dir::new(tag);
    let pki = Pki::new(&dir.0);
    let z1 = Backend::start("z1");
    let z2 = Backend::start("z2");
    let cfg = format!(
        "node_source = static\nnodes = z1=http://127.0.0.1:{} z2=http://127.0.0.1:{}\n{extra}",
        z1.port, z2.port
    );
    let edge = start_edge(&dir.0, &pki, &cfg);
    let ca = pki.file("ca.pem").display().to_string();
    Setup {
        _dir: dir,
        edge,
        z1,
        z2,
        ca,
    }
}

fn log_of(s: &Setup) -> String {
    s.edge.proc.log()
}

#[test]
fn routes_and_sets_the_proxy_header() {
    let s = setup("route", "");
    let r = curl(&["--cacert", &s.ca, &s.edge.url("/z2/abc?q=1")]);
    assert_eq!(r.status, 200, "{r:?}\n{}", log_of(&s));
    assert_eq!(field(&r.body, "backend"), Some("z2"));
    assert_eq!(field(&r.body, "path"), Some("/z2/abc?q=1"));
    assert_eq!(seen(&r.body, "kopano_proxy"), vec!["yes".to_string()]);
    assert_eq!(r.header("kopano_proxy"), Some("yes"));
    // /kopano goes to the default (first) node, prefix kept by default.
    let r = curl(&["--cacert", &s.ca, &s.edge.url("/kopano")]);
    assert_eq!(field(&r.body, "backend"), Some("z1"));
    assert_eq!(field(&r.body, "path"), Some("/kopano"));
    // Unknown routes and the health check are answered by the edge.
    let r = curl(&["--cacert", &s.ca, &s.edge.url("/z9/x")]);
    assert_eq!(r.status, 404);
    let r = curl(&["--cacert", &s.ca, &s.edge.url("/healthz")]);
    assert_eq!(r.status, 200);
    let r = curl(&[&format!("http://127.0.0.1:{}/healthz", s.edge.admin)]);
    assert_eq!(r.status, 200, "{r:?}");
    let r = curl(&[&format!("http://127.0.0.1:{}/metrics", s.edge.admin)]);
    assert!(
        r.body
            .contains("kc_proxy_requests_total{route=\"z2\",status=\"200\"} 1"),
        "{}",
        r.body
    );
    assert!(r.body.contains("kc_proxy_tls_handshakes_total"));
    assert!(r.body.contains("kc_proxy_upstream_seconds_bucket"));
    // The access log has a combined-format line per request.
    let log = std::fs::read_to_string(s._dir.0.join("access.log")).unwrap_or_default();
    assert!(log.contains("\"GET /z2/abc?q=1 HTTP/2\" 200"), "{log}");
}

#[test]
fn spoofed_forwarding_and_proxy_headers_do_not_reach_the_node() {
    let s = setup("spoof", "");
    let r = curl(&[
        "--cacert",
        &s.ca,
        "-H",
        "X-Forwarded-For: 6.6.6.6",
        "-H",
        "X-Forwarded-Host: evil.example",
        "-H",
        "X-Forwarded-Proto: http",
        "-H",
        "Forwarded: for=6.6.6.6",
        "-H",
        "X-Real-IP: 6.6.6.6",
        "-H",
        "kopano_proxy: no",
        "-H",
        "Kopano-Proxy: no",
        "-H",
        "X-Remote-User: admin",
        &s.edge.url("/z1/x"),
    ]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        seen(&r.body, "x-forwarded-for"),
        vec!["127.0.0.1".to_string()]
    );
    assert_eq!(
        seen(&r.body, "x-forwarded-proto"),
        vec!["https".to_string()]
    );
    assert_eq!(
        seen(&r.body, "x-forwarded-host"),
        vec![format!("127.0.0.1:{}", s.edge.https)]
    );
    assert_eq!(seen(&r.body, "kopano_proxy"), vec!["yes".to_string()]);
    assert!(seen(&r.body, "kopano-proxy").is_empty());
    assert!(seen(&r.body, "forwarded").is_empty());
    assert!(seen(&r.body, "x-real-ip").is_empty());
    assert!(seen(&r.body, "x-remote-user").is_empty());
    assert!(!r.body.contains("6.6.6.6"));
}

#[test]
fn location_and_destination_are_rewritten() {
    let s = setup("reverse", "kopano_path_mode = strip\n");
    let public = format!("https://127.0.0.1:{}", s.edge.https);
    // Keep mode (/zN): backend URLs under /z1 become public URLs.
    let r = curl(&[
        "--cacert",
        &s.ca,
        "-H",
        "X-Test-Location: http://127.0.0.1:PORT/z1/next?a=b",
        "-H",
        "X-Test-Content-Location: http://127.0.0.1:PORT/z1/item",
        "-H",
        "X-Test-URI: http://127.0.0.1:PORT/z1/uri",
        &s.edge.url("/z1/start"),
    ]);
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(
        r.header("location"),
        Some(format!("{public}/z1/next?a=b").as_str())
    );
    assert_eq!(
        r.header("content-location"),
        Some(format!("{public}/z1/item").as_str())
    );
    assert_eq!(r.header("uri"), Some(format!("{public}/z1/uri").as_str()));
    // A URL on another host is left alone.
    let r = curl(&[
        "--cacert",
        &s.ca,
        "-H",
        "X-Test-Location: https://elsewhere.example/z1/x",
        &s.edge.url("/z1/start"),
    ]);
    assert_eq!(r.header("location"), Some("https://elsewhere.example/z1/x"));
    // Strip mode (/kopano): the backend's root is the route's root.
    let r = curl(&[
        "--cacert",
        &s.ca,
        "-H",
        "X-Test-Location: http://127.0.0.1:PORT/after",
        &s.edge.url("/kopano/before"),
    ]);
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(field(&r.body, "path"), Some("/before"));
    assert_eq!(
        r.header("location"),
        Some(format!("{public}/kopano/after").as_str())
    );
    let r = curl(&[
        "--cacert",
        &s.ca,
        "-H",
        "X-Test-Location: /rel",
        &s.edge.url("/kopano/x"),
    ]);
    assert_eq!(r.header("location"), Some("/kopano/rel"));
    // WebDAV MOVE: the public Destination becomes the node's own URL.
    let r = curl(&[
        "--cacert",
        &s.ca,
        "-X",
        "MOVE",
        "-H",
        &format!("Destination: {public}/z1/cal/b.ics"),
        &s.edge.url("/z1/cal/a.ics"),
    ]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        seen(&r.body, "destination"),
        vec![format!("http://127.0.0.1:{}/z1/cal/b.ics", s.z1.port)]
    );
    let r = curl(&[
        "--cacert",
        &s.ca,
        "-X",
        "MOVE",
        "-H",
        &format!("Destination: {public}/kopano/b"),
        &s.edge.url("/kopano/a"),
    ]);
    assert_eq!(
        seen(&r.body, "destination"),
        vec![format!("http://127.0.0.1:{}/b", s.z1.port)]
    );
}

#[test]
fn soap_redirects_to_internal_urls_are_rewritten_in_every_coding() {
    let s = setup("soap", "");
    let internal = format!("http://127.0.0.1:{}/", s.z2.port);
    let public = format!("https://127.0.0.1:{}/z2/", s.edge.https);
    for coding in ["identity", "deflate", "gzip"] {
        let r = curl(&[
            "--cacert",
            &s.ca,
            "--compressed",
            "-H",
            &format!("X-Test-Soap-Redirect: {internal}"),
            "-H",
            &format!("X-Test-Coding: {coding}"),
            "-X",
            "POST",
            "--data-binary",
            "<x/>",
            &s.edge.url("/z1/"),
        ]);
        assert_eq!(r.status, 200, "{coding}: {r:?}");
        assert!(
            r.body
                .contains(&format!("<lpszServerPath>{public}</lpszServerPath>")),
            "{coding}: {}",
            r.body
        );
    }
    // A redirect to a URL that is not a node's stays as it is.
    let r = curl(&[
        "--cacert",
        &s.ca,
        "-H",
        "X-Test-Soap-Redirect: https://proxy.example/z2/",
        &s.edge.url("/z1/"),
    ]);
    assert!(r
        .body
        .contains("<lpszServerPath>https://proxy.example/z2/</lpszServerPath>"));
    // HTTP/1.1 chunked upload to the node and a chunked reply.
    let r = curl(&[
        "--cacert",
        &s.ca,
        "--http1.1",
        "-H",
        "Transfer-Encoding: chunked",
        "-H",
        &format!("X-Test-Soap-Redirect: {internal}"),
        "--data-binary",
        "@/etc/os-release",
        &s.edge.url("/z1/"),
    ]);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"), "{r:?}");
    assert!(r.body.contains(&public), "{}", r.body);
}

#[test]
fn http2_with_curl_and_nghttp() {
    let s = setup("h2", "");
    let r = curl(&[
        "--cacert",
        &s.ca,
        "--http2",
        "-w",
        "\nversion=%{http_version}",
        &s.edge.url("/z1/h2"),
    ]);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.ends_with("version=2"), "{}", r.body);
    assert_eq!(field(&r.body, "path"), Some("/z1/h2"));
    let out = std::process::Command::new(require_tool("nghttp"))
        .args(["-v", &s.edge.url("/z2/nghttp")])
        .output()
        .expect("run nghttp");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(":status: 200"), "{text}");
    assert!(text.contains("path: /z2/nghttp"), "{text}");
    assert!(text.contains("kopano_proxy: yes"), "{text}");
}

#[test]
fn a_dead_node_gives_502_while_the_other_keeps_serving() {
    let mut s = setup("down", "upstream_connect_timeout = 1\n");
    let r = curl(&["--cacert", &s.ca, &s.edge.url("/z2/warm")]);
    assert_eq!(r.status, 200);
    s.z2.kill();
    let r = curl(&[
        "--cacert",
        &s.ca,
        "--max-time",
        "5",
        &s.edge.url("/z2/after"),
    ]);
    assert_eq!(r.status, 502, "{r:?}\n{}", log_of(&s));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(r.body.contains("502"), "{}", r.body);
    let r = curl(&["--cacert", &s.ca, &s.edge.url("/z1/still")]);
    assert_eq!(r.status, 200);
    assert_eq!(field(&r.body, "backend"), Some("z1"));
}

#[test]
fn graceful_shutdown_on_sigterm() {
    let mut s = setup("term", "");
    let r = curl(&["--cacert", &s.ca, &s.edge.url("/z1/x")]);
    assert_eq!(r.status, 200);
    let status = s
        .edge
        .proc
        .signal_and_wait(libc::SIGTERM, std::time::Duration::from_secs(60));
    assert!(
        status.is_some(),
        "kc-proxy did not exit on SIGTERM\n{}",
        log_of(&s)
    );
    let _ = Path::new("/");
    let _ = SocketAddr::from(([127, 0, 0, 1], s.edge.https));
}

/// Peak resident memory of a process in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn plain_http_listener_and_a_1gb_streaming_upload() {
    let s = setup("upload", "");
    let r = curl(&[&format!("http://127.0.0.1:{}/z1/plain", s.edge.http)]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(seen(&r.body, "x-forwarded-proto"), vec!["http".to_string()]);
    // 1 GiB from a pipe (chunked upload) through TLS to the node; the
    // node counts the bytes.
    const SIZE: u64 = 1 << 30;
    let before = peak_rss_kib(s.edge.proc.pid());
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "head -c {SIZE} /dev/zero | {} -s -S --cacert {} -T - {}",
            require_tool("curl").display(),
            s.ca,
            s.edge.url("/z1/upload")
        ))
        .output()
        .expect("run the upload");
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{body}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        field(&body, "body-bytes"),
        Some(SIZE.to_string().as_str()),
        "{body}"
    );
    let after = peak_rss_kib(s.edge.proc.pid());
    // Streaming: the proxy's peak memory grows by far less than the body.
    assert!(
        after < before + 128 * 1024,
        "kc-proxy peak RSS grew from {before} KiB to {after} KiB during a 1 GiB upload"
    );
}
