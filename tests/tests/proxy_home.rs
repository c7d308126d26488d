//! Directory-driven routing: `/zN` routes from the directory's server
//! objects, ActiveSync and CalDAV requests to the user's home node, and
//! `kc-proxy --lookup`.

use std::process::Command;

use base64::Engine;
use kc_tests::proxy_support::{curl, start_edge, write_directory, DirNode, EchoNode, Pki, Scratch};
use kc_tests::{bin, free_port};

fn node(name: &str, address: &str, port: u16) -> DirNode {
    DirNode {
        name: name.into(),
        address: address.into(),
        http_port: port,
        ssl_port: None,
        proxy_url: None,
        public: name == "z1",
    }
}

fn node_of(body: &str) -> Option<&str> {
    body.lines().find_map(|l| l.strip_prefix("node: "))
}

#[test]
fn gateway_requests_go_to_the_home_node() {
    let dir = Scratch::new("home");
    let pki = Pki::new(&dir.0);
    // Both nodes serve SOAP and the gateways on the same port, on two
    // loopback addresses, as two hosts would.
    let port = free_port();
    let _n1 = EchoNode::start_on("127.0.0.1", port);
    let _n2 = EchoNode::start_on("127.0.0.2", port);
    let ldap = write_directory(
        &dir.0,
        &[
            node("z1", "127.0.0.1", port),
            node("node2", "127.0.0.2", port),
        ],
        &[("alice", "z1"), ("bob", "node2")],
    );
    let edge = start_edge(
        &dir.0,
        &pki,
        &format!(
            "node_source = ldap\nldap_config = {}\nnode_activesync_port = {port}\nnode_caldav_port = {port}\n",
            ldap.display()
        ),
    );
    let ca = pki.file("ca.pem").display().to_string();
    let get = |path: &str, extra: &[&str]| {
        let url = edge.url(path);
        let mut args = vec!["--cacert", ca.as_str()];
        args.extend_from_slice(extra);
        args.push(url.as_str());
        curl(&args)
    };

    // /zN routes come from the directory: node2 is /z2.
    let r = get("/z2/soap", &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", edge.proc.log());
    assert_eq!(node_of(&r.body), Some("127.0.0.2"));
    let r = get("/kopano", &[]);
    assert_eq!(
        node_of(&r.body),
        Some("127.0.0.1"),
        "the public-store node serves /kopano"
    );

    // ActiveSync: plain User=, base64 query, Basic credentials.
    let r = get(
        "/Microsoft-Server-ActiveSync?Cmd=Sync&User=bob&DeviceId=d1&DeviceType=t",
        &["-X", "POST"],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(node_of(&r.body), Some("127.0.0.2"), "{}", r.body);
    let mut raw = vec![141u8, 0, 0x09, 0x04, 2, b'd', b'1', 0, 1, b't', 8, 5];
    raw.extend_from_slice(b"alice");
    let q = base64::engine::general_purpose::STANDARD.encode(&raw);
    let r = get(
        &format!("/Microsoft-Server-ActiveSync?{q}"),
        &["-X", "POST"],
    );
    assert_eq!(node_of(&r.body), Some("127.0.0.1"), "{r:?}");
    let r = get(
        "/Microsoft-Server-ActiveSync",
        &["-u", "bob:bob-secret", "-X", "OPTIONS"],
    );
    assert_eq!(node_of(&r.body), Some("127.0.0.2"), "{r:?}");

    // CalDAV: the URL principal, or Basic credentials.
    let r = get("/caldav/bob/Calendar/", &["-X", "PROPFIND"]);
    assert_eq!(node_of(&r.body), Some("127.0.0.2"), "{r:?}");
    let r = get("/.well-known/caldav", &["-u", "alice:alice-secret"]);
    assert_eq!(node_of(&r.body), Some("127.0.0.1"), "{r:?}");

    // No user: ask for credentials; unknown user: 404.
    let r = get("/Microsoft-Server-ActiveSync", &[]);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r
        .header("www-authenticate")
        .is_some_and(|v| v.starts_with("Basic")));
    let r = get("/caldav/nobody/", &[]);
    assert_eq!(r.status, 404, "{r:?}");

    // --lookup answers from the same configuration.
    let out = Command::new(bin("kc-proxy"))
        .arg("-c")
        .arg(&edge.config)
        .args(["--lookup", "bob"])
        .output()
        .expect("run kc-proxy --lookup");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("node2"), "{text}");
    assert!(text.contains("/z2/"), "{text}");
}
