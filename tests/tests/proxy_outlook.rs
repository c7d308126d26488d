//! The Outlook flow through kc-proxy in front of two real kc-server nodes
//! over a directory, with raw SOAP: logon and getStore at /kopano for a user
//! homed on z2 are redirected to the edge's /z2, following the redirect
//! works, the redirect stays on the edge even when the node's LDAP entry has
//! no proxy URL (the rewriting safety net), and a client talking to a node
//! directly gets the node's internal URL.

use std::path::{Path, PathBuf};

use kc_tests::free_port;
use kc_tests::proxy_support::{
    curl, start_edge_on, write_directory, CurlReply, DirNode, EdgeProc, Pki, Scratch,
};
use kc_tests::server_harness::{start_server, NodeSpec, ServerProc};

const UNABLE_TO_COMPLETE: &str = "2147483688";

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:ns="urn:zarafa"><SOAP-ENV:Body SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"#
    )
}

fn logon_xml(user: &str, caps: u32) -> String {
    envelope(&format!(
        "<ns:logon><szUsername>{user}</szUsername><szPassword>{user}-secret</szPassword><szImpersonateUser/><szVersion>8,7,0,0</szVersion><ulCapabilities>{caps}</ulCapabilities><ulFlags>0</ulFlags><sLicenseReq/><ullSessionGroup>0</ullSessionGroup><szClientApp>kc-tests</szClientApp><szClientAppVersion>1</szClientAppVersion><szClientAppMisc/></ns:logon>"
    ))
}

fn field(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(body[start..end].to_string())
}

/// A node of the directory written by `write_directory`: the harness's
/// kc-server with the LDAP plugin, multi-server, and redirects through the
/// edge (`proxy_header`).
fn start_node(base: &Path, name: &str, pki: &Pki, ldap: &Path, http: u16, tls: u16) -> ServerProc {
    let sslkeys = base.join(name).join("sslkeys");
    std::fs::create_dir_all(&sslkeys).expect("node dir");
    let mut spec = NodeSpec::new(name);
    spec.http_port = http;
    spec.tls_port = tls;
    spec.extra = vec![
        "user_plugin = ldap".into(),
        format!("user_plugin_config = {}", ldap.display()),
        "enable_distributed_kopano = yes".into(),
        "proxy_header = kopano_proxy".into(),
    ];
    start_server(base, &spec, pki, &sslkeys)
}

struct Cluster {
    dir: Scratch,
    pki: Pki,
    edge: EdgeProc,
    z1: ServerProc,
    z2: ServerProc,
}

/// Two nodes (z1 holds the public store and serves /kopano), users `u1` on
/// z1 and `u2` on z2, and the edge over HTTPS to the nodes with its own
/// client certificate. `proxy_urls`: whether the LDAP entries carry
/// `kopanoProxyURL`.
fn cluster(tag: &str, proxy_urls: bool) -> Cluster {
    let dir = Scratch::new(tag);
    let pki = Pki::new(&dir.0);
    let edge_port = free_port();
    let ports: Vec<(u16, u16)> = (0..2).map(|_| (free_port(), free_port())).collect();
    let nodes: Vec<DirNode> = ["z1", "z2"]
        .iter()
        .zip(&ports)
        .map(|(name, (http, tls))| DirNode {
            name: name.to_string(),
            address: "127.0.0.1".into(),
            http_port: *http,
            ssl_port: Some(*tls),
            proxy_url: proxy_urls.then(|| format!("https://127.0.0.1:{edge_port}/{name}/")),
            public: *name == "z1",
        })
        .collect();
    let ldap = write_directory(&dir.0, &nodes, &[("u1", "z1"), ("u2", "z2")]);
    let z1 = start_node(&dir.0, "z1", &pki, &ldap, ports[0].0, ports[0].1);
    let z2 = start_node(&dir.0, "z2", &pki, &ldap, ports[1].0, ports[1].1);
    let edge = start_edge_on(
        &dir.0,
        &pki,
        &format!(
            "node_source = ldap\nldap_config = {}\nupstream_ssl_ca_file = {}\nupstream_ssl_certificate_file = {}\nupstream_ssl_private_key_file = {}\n",
            ldap.display(),
            pki.file("ca.pem").display(),
            pki.file("edge-client.pem").display(),
            pki.file("edge-client.key").display(),
        ),
        edge_port,
    );
    Cluster {
        dir,
        pki,
        edge,
        z1,
        z2,
    }
}

impl Cluster {
    fn ca(&self) -> String {
        self.pki.file("ca.pem").display().to_string()
    }

    /// POSTs a SOAP envelope to `url` (the edge or a node) with curl.
    fn soap(&self, url: &str, xml: &str) -> CurlReply {
        let file: PathBuf = self.dir.0.join(format!("req-{}.xml", std::process::id()));
        std::fs::write(&file, xml).expect("request file");
        let data = format!("@{}", file.display());
        let r = curl(&[
            "--cacert",
            &self.ca(),
            "--compressed",
            "-H",
            "Content-Type: text/xml; charset=utf-8",
            "--data-binary",
            &data,
            url,
        ]);
        assert_eq!(
            r.status,
            200,
            "{url}: {r:?}\nedge:\n{}\nz1:\n{}\nz2:\n{}",
            self.edge.proc.log(),
            self.z1.log(),
            self.z2.log()
        );
        r
    }

    /// logon + getStore at `url`; returns (getStore er, lpszServerPath).
    fn logon_get_store(&self, url: &str, user: &str, caps: u32) -> (String, Option<String>) {
        let r = self.soap(url, &logon_xml(user, caps));
        assert_eq!(
            field(&r.body, "er").as_deref(),
            Some("0"),
            "logon at {url}: {}",
            r.body
        );
        let sid = field(&r.body, "ulSessionId").expect("session id");
        let r = self.soap(
            url,
            &envelope(&format!(
                "<ns:getStore><ulSessionId>{sid}</ulSessionId></ns:getStore>"
            )),
        );
        let er = field(&r.body, "er").unwrap_or_else(|| panic!("no er: {}", r.body));
        (er, field(&r.body, "lpszServerPath"))
    }
}

/// KC_CAP_UNICODE | MULTI_SERVER, with and without KC_CAP_COMPRESSION.
const CAPS: u32 = 0x0200 | 0x0040;
const CAPS_COMPRESSED: u32 = CAPS | 0x0001;

#[test]
fn outlook_flow_through_the_edge() {
    let c = cluster("outlook", true);
    let public_z2 = format!("https://127.0.0.1:{}/z2/", c.edge.https);

    // 1. /kopano for a user homed on z2: redirected to the edge's /z2.
    let (er, path) = c.logon_get_store(&c.edge.url("/kopano"), "u2", CAPS);
    assert_eq!(er, UNABLE_TO_COMPLETE);
    assert_eq!(path.as_deref(), Some(public_z2.as_str()));

    // 2. Following it: logon and getStore at /z2 succeed.
    let (er, _) = c.logon_get_store(&c.edge.url("/z2/"), "u2", CAPS);
    assert_eq!(er, "0");
    // A user of the default node is served there.
    let (er, _) = c.logon_get_store(&c.edge.url("/kopano"), "u1", CAPS);
    assert_eq!(er, "0");

    // 4. A client that talks to z1 directly (no proxy header) gets z2's own URL.
    let (er, path) =
        c.logon_get_store(&format!("https://127.0.0.1:{}/", c.z1.tls_port), "u2", CAPS);
    assert_eq!(er, UNABLE_TO_COMPLETE);
    assert_eq!(path, Some(format!("https://127.0.0.1:{}/", c.z2.tls_port)));
    let _ = (&c.z1.name, c.z1.http_port, c.z2.http_port);
}

#[test]
fn without_proxy_urls_the_safety_net_keeps_clients_on_the_edge() {
    let c = cluster("outlook-noproxyurl", false);
    let public_z2 = format!("https://127.0.0.1:{}/z2/", c.edge.https);
    // 3. The node falls back to its internal URL; the edge rewrites it,
    //    plain and with compression negotiated.
    for caps in [CAPS, CAPS_COMPRESSED] {
        let (er, path) = c.logon_get_store(&c.edge.url("/kopano"), "u2", caps);
        assert_eq!(er, UNABLE_TO_COMPLETE);
        assert_eq!(path.as_deref(), Some(public_z2.as_str()), "caps {caps:#x}");
        let (er, _) = c.logon_get_store(path.as_deref().unwrap_or_default(), "u2", caps);
        assert_eq!(er, "0");
    }
    let metrics = curl(&[&format!("http://127.0.0.1:{}/metrics", c.edge.admin)]);
    assert!(
        !metrics
            .body
            .contains("kc_proxy_soap_redirect_rewrites_total 0"),
        "{}",
        metrics.body
    );
}
