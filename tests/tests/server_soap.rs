//! End-to-end tests of kc-server's SOAP service: real kc-server processes over
//! an LDIF directory, raw HTTP/1.1 requests (plain, TLS, unix socket).

use std::io::Write;
use std::path::Path;

use kc_tests::server_harness::*;

const HDR: &str = "kopano_proxy";

struct Cluster {
    _tmp: tempfile::TempDir,
    pki: Pki,
    admin: ClientCert,
    other: ClientCert,
    n1: ServerProc,
    n2: ServerProc,
    n3: ServerProc,
}

fn user_ldif(login: &str, uid: u32, server: Option<&str>) -> String {
    let mut s = format!(
        "dn: uid={login},ou=People,dc=example,dc=com\n\
         objectClass: inetOrgPerson\nobjectClass: posixAccount\nobjectClass: kopano-user\n\
         uid: {login}\ncn: User {login}\nsn: {login}\nmail: {login}@example.com\n\
         uidNumber: {uid}\ngidNumber: 5000\nhomeDirectory: /home/{login}\n\
         userPassword: {login}-secret\nkopanoAccount: 1\n"
    );
    if let Some(srv) = server {
        s.push_str(&format!("kopanoUserServer: {srv}\n"));
    }
    if login == "boss" {
        s.push_str("kopanoAdmin: 1\n");
    }
    s.push('\n');
    s
}

fn server_ldif(
    name: &str,
    http: u16,
    tls: Option<u16>,
    sock: Option<&Path>,
    public: bool,
    proxy: bool,
) -> String {
    let mut s = format!(
        "dn: cn={name},ou=Servers,dc=example,dc=com\n\
         objectClass: device\nobjectClass: ipHost\nobjectClass: kopano-server\n\
         cn: {name}\nipHostNumber: 127.0.0.1\nkopanoHttpPort: {http}\n"
    );
    if let Some(t) = tls {
        s.push_str(&format!("kopanoSslPort: {t}\n"));
    }
    if let Some(p) = sock {
        s.push_str(&format!("kopanoFilePath: {}\n", p.display()));
    }
    s.push_str(&format!("kopanoContainsPublic: {}\n", u8::from(public)));
    if proxy {
        let n = name.trim_start_matches('n');
        s.push_str(&format!("kopanoProxyURL: https://edge.example/z{n}/\n"));
    }
    s.push('\n');
    s
}

fn start_cluster() -> Cluster {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().to_owned();
    let pki = Pki::new(&base.join("pki"));
    let admin = pki.client("admin");
    let other = pki.client("other");
    let sslkeys = base.join("sslkeys");
    std::fs::create_dir_all(&sslkeys).unwrap();
    std::fs::write(sslkeys.join("admin-public.pem"), &admin.public_pem).unwrap();
    std::fs::write(sslkeys.join("README"), "not a key").unwrap();

    let mut specs = [
        NodeSpec::new("n1"),
        NodeSpec::new("n2"),
        NodeSpec::new("n3"),
    ];
    let socks: Vec<_> = specs
        .iter()
        .map(|s| base.join(&s.name).join("server.sock"))
        .collect();
    let mut ldif = String::from(
        "dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: ou=Servers,dc=example,dc=com\nobjectClass: organizationalUnit\nou: Servers\n\n",
    );
    for (i, s) in specs.iter().enumerate() {
        ldif.push_str(&server_ldif(
            &s.name,
            s.http_port,
            Some(s.tls_port),
            Some(&socks[i]),
            s.name == "n3",
            true,
        ));
    }
    // n4 never runs: HTTP only, no proxy URL (the fall-through rows).
    ldif.push_str(&server_ldif("n4", 1, None, None, false, false));
    ldif.push_str(
        "dn: ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\nou: People\n\n",
    );
    for (i, (u, srv)) in [
        ("u1", Some("n1")),
        ("u2", Some("n2")),
        ("u3", Some("n3")),
        ("u4", Some("n4")),
        ("nohome", None),
        ("boss", Some("n1")),
    ]
    .iter()
    .enumerate()
    {
        ldif.push_str(&user_ldif(u, 2001 + i as u32, *srv));
    }
    std::fs::write(base.join("directory.ldif"), ldif).unwrap();
    let ldap_cfg = base.join("ldap.cfg");
    std::fs::write(
        &ldap_cfg,
        "ldap_uri =\nldap_ldif_file = directory.ldif\nldap_search_base = dc=example,dc=com\n\
         ldap_user_search_filter = (kopanoAccount=1)\nldap_server_type_attribute_value = kopano-server\n\
         ldap_server_address_attribute = ipHostNumber\n",
    )
    .unwrap();
    let common = [
        "user_plugin = ldap".to_string(),
        format!("user_plugin_config = {}", ldap_cfg.display()),
        "enable_distributed_kopano = yes".to_string(),
    ];
    for s in specs.iter_mut() {
        s.extra.extend(common.iter().cloned());
    }
    specs[0].extra.push(format!("proxy_header = {HDR}"));
    specs[1].extra.push("proxy_header = *".into());
    specs[1].extra.push("session_ip_check = no".into());
    specs[2].extra.push("proxy_header =".into());
    let [s1, s2, s3] = specs;
    let n1 = start_server(&base, &s1, &pki, &sslkeys);
    let n2 = start_server(&base, &s2, &pki, &sslkeys);
    let n3 = start_server(&base, &s3, &pki, &sslkeys);
    Cluster {
        _tmp: tmp,
        pki,
        admin,
        other,
        n1,
        n2,
        n3,
    }
}

fn rus(user: &str, flags: u32) -> String {
    format!("<szUserName>{user}</szUserName><ulStoreTypeMask>0</ulStoreTypeMask><ulFlags>{flags}</ulFlags>")
}

/// The URL GetBestServerPath must give for `target` reached over `t`.
fn expected(t: Transport, proxied: bool, target: &ServerProc) -> String {
    if proxied {
        return format!(
            "https://edge.example/z{}/",
            target.name.trim_start_matches('n')
        );
    }
    match t {
        Transport::Http => target.http_url(),
        Transport::Https | Transport::Unix => target.https_url(),
    }
}

fn assert_redirect(r: &HttpResponse, want: &str) {
    assert_eq!(r.er(), UNABLE_TO_COMPLETE, "{}", r.body);
    assert_eq!(
        r.field("lpszServerPath").as_deref(),
        Some(want),
        "{}",
        r.body
    );
}

fn assert_local(r: &HttpResponse, node: &str) {
    assert_eq!(r.er(), 0, "{}", r.body);
    assert_eq!(
        r.field("lpszServerPath"),
        Some(format!("pseudo://{node}")),
        "{}",
        r.body
    );
    assert!(!r.field("sStoreId").unwrap_or_default().is_empty());
}

#[test]
fn multi_server_redirects_sessions_and_certificates() {
    let c = start_cluster();
    let (n1, n2, n3) = (&c.n1, &c.n2, &c.n3);

    // --- n1: proxy_header = kopano_proxy. Every transport, with and without the header.
    let header_variants: [&[(&str, &str)]; 3] = [&[], &[(HDR, "yes")], &[("KOPANO_PROXY", "no")]];
    for t in [Transport::Http, Transport::Https, Transport::Unix] {
        for hdrs in header_variants {
            let proxied = !hdrs.is_empty();
            let mut conn = n1.connect(t, &c.pki, None);
            let (er, s1) = conn.logon(hdrs, "u1", "u1-secret");
            assert_eq!(er, 0, "{t:?} {hdrs:?}");
            // Own store on this node.
            assert_local(&conn.call(hdrs, "getStore", s1, ""), "n1");
            assert_local(
                &conn.call(hdrs, "resolveUserStore", s1, &rus("u1", 0)),
                "n1",
            );
            // Users on other nodes.
            assert_redirect(
                &conn.call(hdrs, "resolveUserStore", s1, &rus("u2", 0)),
                &expected(t, proxied, n2),
            );
            assert_redirect(
                &conn.call(hdrs, "resolveUserStore", s1, &rus("u3", 0)),
                &expected(t, proxied, n3),
            );
            // The override flag turns the redirect off; the store is not here.
            let r = conn.call(hdrs, "resolveUserStore", s1, &rus("u2", 16));
            assert_eq!(r.er(), NOT_FOUND, "{}", r.body);
            // Unknown user, and a user without a home server.
            assert_eq!(
                conn.call(hdrs, "resolveUserStore", s1, &rus("nosuchuser", 0))
                    .er(),
                NOT_FOUND
            );
            assert_eq!(
                conn.call(hdrs, "resolveUserStore", s1, &rus("nohome", 0))
                    .er(),
                NOT_FOUND
            );
            // Public store lives on n3.
            assert_redirect(
                &conn.call(hdrs, "getPublicStore", s1, "<ulFlags>0</ulFlags>"),
                &expected(t, proxied, n3),
            );
            let r = conn.call(hdrs, "getPublicStore", s1, "<ulFlags>1</ulFlags>");
            assert_eq!(r.er(), NOT_FOUND, "{}", r.body);
            // A user of another node may log on here (logon never redirects) but
            // getStore sends them home.
            let (er, s2) = conn.logon(hdrs, "u2", "u2-secret");
            assert_eq!(er, 0);
            assert_redirect(
                &conn.call(hdrs, "getStore", s2, ""),
                &expected(t, proxied, n2),
            );
            // n4 has no proxy URL and no SSL port.
            let r = conn.call(hdrs, "resolveUserStore", s1, &rus("u4", 0));
            match (t, proxied) {
                (Transport::Https, _) => assert_eq!(r.er(), NOT_FOUND, "{}", r.body),
                _ => assert_redirect(&r, "http://127.0.0.1:1/"),
            }
            let r = conn.call(hdrs, "logoff", s1, "");
            assert_eq!(r.field("result").as_deref(), Some("0"));
            assert_eq!(conn.call(hdrs, "getStore", s1, "").er(), END_OF_SESSION);
        }
    }

    // --- sticky proxy flag: one request with the header marks the connection.
    {
        let mut conn = n1.connect(Transport::Http, &c.pki, None);
        let (_, s) = conn.logon(&[(HDR, "1")], "u1", "u1-secret");
        assert_redirect(
            &conn.call(&[], "resolveUserStore", s, &rus("u2", 0)),
            "https://edge.example/z2/",
        );
        let mut fresh = n1.connect(Transport::Http, &c.pki, None);
        assert_redirect(
            &fresh.call(&[], "resolveUserStore", s, &rus("u2", 0)),
            &n2.http_url(),
        );
    }

    // --- n2: proxy_header = *: always the proxy URL, no header needed.
    for t in [Transport::Http, Transport::Https, Transport::Unix] {
        let mut conn = n2.connect(t, &c.pki, None);
        let (er, s) = conn.logon(&[], "u2", "u2-secret");
        assert_eq!(er, 0);
        assert_local(&conn.call(&[], "getStore", s, ""), "n2");
        assert_redirect(
            &conn.call(&[], "resolveUserStore", s, &rus("u1", 0)),
            "https://edge.example/z1/",
        );
        assert_redirect(
            &conn.call(&[], "getPublicStore", s, "<ulFlags>0</ulFlags>"),
            "https://edge.example/z3/",
        );
    }

    // --- n3: proxy_header empty: the header is ignored; the public store is here.
    {
        let mut conn = n3.connect(Transport::Http, &c.pki, None);
        let (er, s) = conn.logon(&[(HDR, "yes")], "u3", "u3-secret");
        assert_eq!(er, 0);
        assert_redirect(
            &conn.call(&[(HDR, "yes")], "resolveUserStore", s, &rus("u1", 0)),
            &n1.http_url(),
        );
        // Not created yet.
        assert_eq!(
            conn.call(&[], "getPublicStore", s, "<ulFlags>0</ulFlags>")
                .er(),
            NOT_FOUND
        );
        // Create it as SYSTEM over the (trusted) unix socket through the admin API.
        let mut sock = n3.connect(Transport::Unix, &c.pki, None);
        let (er, sys) = sock.logon(&[], "SYSTEM", "");
        assert_eq!(er, 0);
        let r = sock.post_raw(
            "/kc-admin/v1/create-public-store",
            &[],
            format!("{{\"session\":{sys}}}").as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("\"data\""), "{}", r.body);
        assert_local(
            &conn.call(&[], "getPublicStore", s, "<ulFlags>0</ulFlags>"),
            "n3",
        );
        // On n1 the public store may not be created.
        let mut sock1 = n1.connect(Transport::Unix, &c.pki, None);
        let (_, sys1) = sock1.logon(&[], "SYSTEM", "");
        let r = sock1.post_raw(
            "/kc-admin/v1/create-public-store",
            &[],
            format!("{{\"session\":{sys1}}}").as_bytes(),
        );
        assert!(
            r.body.contains("KCERR_UNABLE_TO_COMPLETE") && r.body.contains("\"node\":\"n1\""),
            "{}",
            r.body
        );
    }

    // --- resolvePseudoUrl and getServerDetails.
    {
        let mut conn = n1.connect(Transport::Http, &c.pki, None);
        let (_, s) = conn.logon(&[], "u1", "u1-secret");
        let r = conn.call(
            &[],
            "resolvePseudoUrl",
            s,
            "<lpszPseudoUrl>pseudo://n2</lpszPseudoUrl>",
        );
        assert_eq!(r.er(), 0);
        assert_eq!(r.field("lpszServerPath"), Some(n2.http_url()));
        assert_eq!(r.field("bIsPeer").as_deref(), Some("false"));
        let r = conn.call(
            &[],
            "resolvePseudoUrl",
            s,
            "<lpszPseudoUrl>pseudo://N1</lpszPseudoUrl>",
        );
        assert_eq!(r.field("bIsPeer").as_deref(), Some("true"));
        let r = conn.call(
            &[],
            "resolvePseudoUrl",
            s,
            "<lpszPseudoUrl>http://n2/</lpszPseudoUrl>",
        );
        assert_eq!(r.er(), INVALID_PARAMETER);
        let r = conn.call(
            &[],
            "getServerDetails",
            s,
            "<szaSvrNameList><item>n3</item></szaSvrNameList><ulFlags>0</ulFlags>",
        );
        assert_eq!(r.er(), 0, "{}", r.body);
        assert_eq!(r.field("lpszName").as_deref(), Some("n3"));
        assert_eq!(r.field("lpszHttpPath"), Some(n3.http_url()));
        assert_eq!(r.field("lpszSslPath"), Some(n3.https_url()));
        assert_eq!(r.field("lpszPreferedPath"), Some(n3.http_url()));
        assert_eq!(r.field("ulFlags").as_deref(), Some("2")); // HAS_PUBLIC
        let r = conn.call(&[], "resolveUsername", s, "<lpszUsername>u2</lpszUsername>");
        assert_eq!(r.er(), 0, "{}", r.body);
        assert!(r.body.contains("ns:resolveUserResponse"));
        let r = conn.call(&[], "getUser", s, "<ulUserId>0</ulUserId>");
        assert_eq!(r.er(), 0, "{}", r.body);
        assert_eq!(r.field("lpszUsername").as_deref(), Some("u1"));
        assert_eq!(r.field("lpszServername").as_deref(), Some("n1"));
    }

    // --- session_ip_check with X-Forwarded-For on proxied connections.
    {
        let mut conn = n1.connect(Transport::Http, &c.pki, None);
        let (er, s) = conn.logon(
            &[(HDR, "y"), ("X-Forwarded-For", "10.1.1.1")],
            "u1",
            "u1-secret",
        );
        assert_eq!(er, 0);
        let ok = conn.call(&[("X-Forwarded-For", "10.1.1.1")], "getStore", s, "");
        assert_eq!(ok.er(), 0);
        let moved = conn.call(&[("X-Forwarded-For", "10.9.9.9")], "getStore", s, "");
        assert_eq!(moved.er(), END_OF_SESSION);
        // A direct (unproxied) connection comes from 127.0.0.1: not the session's address.
        let mut direct = n1.connect(Transport::Http, &c.pki, None);
        assert_eq!(direct.call(&[], "getStore", s, "").er(), END_OF_SESSION);
        let audit = std::fs::read_to_string(&n1.audit).unwrap();
        assert!(
            audit.contains("authenticate ok user='u1' from='10.1.1.1' method='User supplied password' program='kc-tests'"),
            "{audit}"
        );
        assert!(audit.contains("method='Pipe socket'"), "{audit}");
        assert!(
            audit.starts_with("kopano-server startup by user uid="),
            "{audit}"
        );
        // Without proxy_header, X-Forwarded-For is not trusted.
        let mut c3 = n3.connect(Transport::Http, &c.pki, None);
        let (_, s3) = c3.logon(&[], "u3", "u3-secret");
        assert_eq!(
            c3.call(&[("X-Forwarded-For", "10.9.9.9")], "getStore", s3, "")
                .er(),
            0
        );
        // session_ip_check = no on n2.
        let mut c2 = n2.connect(Transport::Http, &c.pki, None);
        let (_, s2) = c2.logon(&[("X-Forwarded-For", "10.1.1.1")], "u2", "u2-secret");
        assert_eq!(
            c2.call(&[("X-Forwarded-For", "10.2.2.2")], "getStore", s2, "")
                .er(),
            0
        );
    }

    // --- SIGHUP reloads proxy_header (n3: empty -> *).
    {
        let cfg = n3.dir.join("server.cfg");
        let mut text = std::fs::read_to_string(&cfg).unwrap();
        text.push_str("proxy_header = *\n");
        std::fs::write(&cfg, text).unwrap();
        n3.hup();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let mut conn = n3.connect(Transport::Http, &c.pki, None);
            let (_, s) = conn.logon(&[], "u3", "u3-secret");
            let r = conn.call(&[], "resolveUserStore", s, &rus("u1", 0));
            if r.field("lpszServerPath").as_deref() == Some("https://edge.example/z1/") {
                break;
            }
            assert_redirect(&r, &n1.http_url());
            assert!(
                std::time::Instant::now() < deadline,
                "SIGHUP did not reload proxy_header"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let audit = std::fs::read_to_string(&n3.audit).unwrap();
        assert!(audit.contains("kopano-server signalled sig=1"), "{audit}");
    }

    // --- impersonation: admins only; both outcomes are audited.
    {
        let imp = |user: &str, pass: &str, target: &str| {
            envelope(&format!(
                "<ns:logon><szUsername>{user}</szUsername><szPassword>{pass}</szPassword><szImpersonateUser>{target}</szImpersonateUser><ulCapabilities>{CLIENT_CAPS}</ulCapabilities><szClientApp>kc-tests</szClientApp></ns:logon>"
            ))
        };
        let mut conn = n1.connect(Transport::Http, &c.pki, None);
        let r = conn.post(&[], &imp("boss", "boss-secret", "u1"));
        assert_eq!(r.er(), 0, "{}", r.body);
        let sid: u64 = r.field("ulSessionId").unwrap().parse().unwrap();
        let r = conn.call(&[], "getUser", sid, "<ulUserId>0</ulUserId>");
        assert_eq!(r.field("lpszUsername").as_deref(), Some("u1"));
        let r = conn.post(&[], &imp("u1", "u1-secret", "boss"));
        assert_eq!(r.er(), LOGON_FAILED, "{}", r.body);
        let audit = std::fs::read_to_string(&n1.audit).unwrap();
        assert!(
            audit.contains(
                "impersonate ok user='u1', from='127.0.0.1' program='kc-tests' impersonator='boss'"
            ),
            "{audit}"
        );
        assert!(
            audit.contains("impersonate failed user='boss', from='127.0.0.1' program='kc-tests' impersonator='u1'"),
            "{audit}"
        );
    }

    // --- kc-admin against an ldap node: lists directory users, refuses changes.
    {
        let cfg = n1.dir.join("admin.cfg");
        std::fs::write(
            &cfg,
            format!("server_socket = file://{}\n", n1.socket.display()),
        )
        .unwrap();
        let (ok, out, err) = kc_admin(&cfg, &["-l"]);
        assert!(ok, "{out}{err}");
        assert!(
            out.contains("\tu1\tUser u1\tn1") && out.contains("\tu2\tUser u2\tn2"),
            "{out}"
        );
        let (ok, _, err) = kc_admin(&cfg, &["-c", "new", "-p", "x"]);
        assert!(
            !ok && err.contains("KCERR_NO_SUPPORT") && err.contains("[node n1]"),
            "{err}"
        );
        let (ok, out, _) = kc_admin(&cfg, &["--details", "u2"]);
        assert!(ok && out.contains("Home server:           n2"), "{out}");
    }

    // --- authentication.
    {
        let mut tls = n1.connect(Transport::Https, &c.pki, Some(&c.admin));
        let (er, s) = tls.logon(&[], "SYSTEM", "wrong");
        assert_eq!(er, 0, "a trusted certificate logs on as SYSTEM");
        assert_ne!(s, 0);
        let (er, _) = tls.logon(&[], "u1", "not-the-password");
        assert_eq!(er, 0, "a trusted certificate logs on as any user");
        let mut tls = n1.connect(Transport::Https, &c.pki, Some(&c.other));
        assert_eq!(tls.logon(&[], "SYSTEM", "wrong").0, LOGON_FAILED);
        assert_eq!(tls.logon(&[], "u1", "nope").0, LOGON_FAILED);
        let mut plain = n1.connect(Transport::Http, &c.pki, None);
        assert_eq!(plain.logon(&[], "u1", "u1-wrong").0, LOGON_FAILED);
        assert_eq!(plain.logon(&[], "SYSTEM", "").0, LOGON_FAILED);
        assert_eq!(plain.logon(&[], "nosuchuser", "x").0, LOGON_FAILED);
        let r = plain.post(&[], &logon_xml("u1", "u1-secret", 0x40));
        assert_eq!(r.er(), BAD_CHARWIDTH);
        let audit = std::fs::read_to_string(&n1.audit).unwrap();
        assert!(
            audit.contains("authenticate failed user='u1' from='127.0.0.1' program='kc-tests'"),
            "{audit}"
        );
        assert!(audit.contains("method='SSL Certificate'"), "{audit}");
        assert!(
            !audit.contains("u1-wrong") && !audit.contains("u1-secret"),
            "{audit}"
        );
    }
}

#[test]
fn single_node_db_plugin_garbage_and_encodings() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new(&tmp.path().join("pki"));
    let sslkeys = tmp.path().join("sslkeys");
    std::fs::create_dir_all(&sslkeys).unwrap();
    let spec = NodeSpec::new("solo");
    let mut node = start_server(tmp.path(), &spec, &pki, &sslkeys);

    // Single-server mode: getServerDetails is "not there", pseudo URLs echo.
    let mut sock = node.connect(Transport::Unix, &pki, None);
    let (er, sys) = sock.logon(&[], "SYSTEM", "");
    assert_eq!(er, 0);
    let r = sock.call(&[], "getServerDetails", sys, "<ulFlags>0</ulFlags>");
    assert_eq!(r.er(), NETWORK_ERROR);
    let r = sock.call(
        &[],
        "resolvePseudoUrl",
        sys,
        "<lpszPseudoUrl>pseudo://x</lpszPseudoUrl>",
    );
    assert_eq!(r.field("lpszServerPath").as_deref(), Some("pseudo://x"));
    assert_eq!(r.field("bIsPeer").as_deref(), Some("true"));
    let r = sock.post_raw(
        "/kc-admin/v1/create-user",
        &[],
        format!(r#"{{"session":{sys},"login":"john","password":"secret","email":"john@example.com","fullname":"John Doe"}}"#).as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("error"), "{}", r.body);

    // kcc-go style: bare envelopes (no HTTP request line) on the unix socket.
    {
        let mut bare = node.connect(Transport::Unix, &pki, None);
        bare.write_all(logon_xml("SYSTEM", "", CLIENT_CAPS).as_bytes())
            .unwrap();
        let r = bare.read_response();
        assert_eq!(r.status, 200);
        assert_eq!(r.er(), 0, "{}", r.body);
        let sid = r.field("ulSessionId").unwrap();
        let call = envelope(&format!(
            "<ns:resolveUsername><ulSessionId>{sid}</ulSessionId><lpszUsername>john</lpszUsername></ns:resolveUsername>"
        ));
        bare.write_all(call.as_bytes()).unwrap();
        let r = bare.read_response();
        assert_eq!(r.er(), 0, "{}", r.body);
        assert!(r.body.contains("resolveUserResponse"), "{}", r.body);
    }

    // Any URL path, with or without SOAPAction, parameters in any order, extra elements.
    for path in ["/", "/kopano", "/zarafa", "/z2/"] {
        let mut c = node.connect(Transport::Http, &pki, None);
        let body = envelope("<ns:logon><bogus>1</bogus><ulCapabilities>512</ulCapabilities><szPassword>secret</szPassword><szUsername>john</szUsername></ns:logon>");
        let r = c.post_raw(path, &[("SOAPAction", "\"\"")], body.as_bytes());
        assert_eq!(r.er(), 0, "{path}: {}", r.body);
        let sid: u64 = r.field("ulSessionId").unwrap().parse().unwrap();
        assert_local(&c.call(&[], "getStore", sid, ""), "solo");
    }

    // Compressed request bodies.
    for enc in ["deflate", "gzip"] {
        let body = logon_xml("john", "secret", CLIENT_CAPS);
        let data = match enc {
            "gzip" => {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(body.as_bytes()).unwrap();
                e.finish().unwrap()
            }
            _ => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(body.as_bytes()).unwrap();
                e.finish().unwrap()
            }
        };
        let mut c = node.connect(Transport::Http, &pki, None);
        let r = c.post_raw("/", &[("Content-Encoding", enc)], &data);
        assert_eq!(r.er(), 0, "{enc}: {}", r.body);
    }

    // Garbage: every case gets a Fault, and the node keeps serving.
    let huge = envelope(&format!(
        "<ns:logon><szUsername>{}</szUsername></ns:logon>",
        "A".repeat(10 << 20)
    ));
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="urn:zarafa"><SOAP-ENV:Body><ns:logon><szUsername>&lol9;</szUsername></ns:logon></SOAP-ENV:Body></SOAP-ENV:Envelope>"#.to_string();
    let full = logon_xml("john", "secret", CLIENT_CAPS);
    let truncated = full[..full.len() / 2].to_string();
    let wrong_ns = full.replace("urn:zarafa", "urn:not-zarafa");
    let unknown_op = envelope("<ns:tableOpen><ulSessionId>1</ulSessionId></ns:tableOpen>");
    let gzip_bomb = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![b' '; 64 << 20]).unwrap();
        e.finish().unwrap()
    };
    type Case<'a> = (&'a str, Vec<u8>, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        ("truncated", truncated.into_bytes(), vec![]),
        ("10 MB element", huge.into_bytes(), vec![]),
        ("billion laughs", laughs.into_bytes(), vec![]),
        ("wrong namespace", wrong_ns.into_bytes(), vec![]),
        ("unknown operation", unknown_op.into_bytes(), vec![]),
        ("not XML", b"\x00\xff garbage".to_vec(), vec![]),
        ("gzip bomb", gzip_bomb, vec![("Content-Encoding", "gzip")]),
    ];
    for (name, body, hdrs) in cases {
        let mut c = node.connect(Transport::Http, &pki, None);
        let r = c.post_raw("/", &hdrs, &body);
        assert!(r.is_fault(), "{name}: {} {}", r.status, r.body);
        assert!(
            r.status == 500 || r.status == 413,
            "{name}: status {}",
            r.status
        );
        if name != "unknown operation" {
            assert_eq!(r.status, 500, "{name}");
        }
        assert!(node.is_running(), "{name} killed the node");
        // Still serving, on a fresh connection.
        let mut c2 = node.connect(Transport::Http, &pki, None);
        assert_eq!(c2.logon(&[], "john", "secret").0, 0, "after {name}");
    }

    // Keep-alive: many calls on one connection.
    let mut c = node.connect(Transport::Http, &pki, None);
    let (_, sid) = c.logon(&[], "john", "secret");
    for _ in 0..50 {
        assert_eq!(c.call(&[], "getStore", sid, "").er(), 0);
    }
}

fn kc_admin(cfg: &Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(kc_tests::bin("kc-admin"))
        .arg("--config")
        .arg(cfg)
        .args(args)
        .output()
        .expect("run kc-admin");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn kc_admin_over_socket_and_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new(&tmp.path().join("pki"));
    let admin = pki.client("admin");
    let other = pki.client("other");
    let sslkeys = tmp.path().join("sslkeys");
    std::fs::create_dir_all(&sslkeys).unwrap();
    std::fs::write(sslkeys.join("admin-public.pem"), &admin.public_pem).unwrap();
    let node = start_server(tmp.path(), &NodeSpec::new("solo"), &pki, &sslkeys);
    let cfg = tmp.path().join("admin.cfg");
    std::fs::write(
        &cfg,
        format!("server_socket = file://{}\n", node.socket.display()),
    )
    .unwrap();

    let (ok, out, err) = kc_admin(
        &cfg,
        &[
            "-c",
            "john",
            "-p",
            "secret",
            "-e",
            "john@example.com",
            "-f",
            "John Doe",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("User created."), "{out}");
    let (ok, _, err) = kc_admin(&cfg, &["-c", "john", "-p", "x"]);
    assert!(!ok);
    assert!(
        err.contains("KCERR_COLLISION") && err.contains("[node solo]"),
        "{err}"
    );
    assert!(
        kc_admin(
            &cfg,
            &[
                "-c",
                "mary",
                "-p",
                "m",
                "-e",
                "mary@example.com",
                "-f",
                "Mary Jones",
                "-a",
                "1"
            ]
        )
        .0
    );

    let (ok, out, _) = kc_admin(&cfg, &["-l"]);
    assert!(ok);
    assert!(out.starts_with("User list for Default(3):"), "{out}");
    assert!(
        out.contains("\tjohn\tJohn Doe") && out.contains("\tSYSTEM\tSYSTEM"),
        "{out}"
    );

    let (ok, out, err) = kc_admin(
        &cfg,
        &[
            "-u",
            "john",
            "--qo",
            "yes",
            "--qw",
            "100",
            "--qs",
            "150",
            "--qh",
            "200",
            "--enable-feature",
            "imap",
            "--disable-feature",
            "pop3",
            "-p",
            "newpass",
        ],
    );
    assert!(ok, "{out}{err}");
    let (ok, out, _) = kc_admin(&cfg, &["-g", "sales"]);
    assert!(ok && out.contains("Group created."), "{out}");
    assert!(kc_admin(&cfg, &["-b", "john", "-i", "sales"]).0);
    let (ok, out, _) = kc_admin(&cfg, &["--details", "john"]);
    assert!(ok);
    for want in [
        "Username:              john\n",
        "Fullname:              John Doe\n",
        "Emailaddress:          john@example.com\n",
        "Active:                yes\n",
        "Administrator:         no\n",
        "Quota overrides:       yes\n",
        "Warning level:         100 MB\n",
        "Soft level:            150 MB\n",
        "Hard level:            200 MB\n",
        "Enabled features:      imap\n",
        "Disabled features:     pop3\n",
        "Groups (2):\n\tEveryone\n\tsales\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let (_, out, _) = kc_admin(&cfg, &["--details", "mary"]);
    assert!(out.contains("Administrator:         yes\n"), "{out}");
    let (ok, out, _) = kc_admin(&cfg, &["--details", "sales", "--type", "group"]);
    assert!(ok);
    assert!(
        out.contains("Groupname:             sales\n")
            && out.contains("Users (1):")
            && out.contains("\tjohn\tJohn Doe"),
        "{out}"
    );
    let (_, out, _) = kc_admin(&cfg, &["-L"]);
    assert!(
        out.contains("\tEveryone") && out.contains("\tsales"),
        "{out}"
    );
    assert!(kc_admin(&cfg, &["-B", "john", "-i", "sales"]).0);
    let (ok, _, err) = kc_admin(&cfg, &["-B", "john", "-i", "sales"]);
    assert!(!ok && err.contains("KCERR_NOT_FOUND"), "{err}");

    // The new password works; the store is created at first logon.
    let mut c = node.connect(Transport::Http, &pki, None);
    assert_eq!(c.logon(&[], "john", "secret").0, LOGON_FAILED);
    let (er, sid) = c.logon(&[], "john", "newpass");
    assert_eq!(er, 0);
    assert_eq!(c.call(&[], "getStore", sid, "").er(), 0);

    let (ok, out, _) = kc_admin(&cfg, &["-s"]);
    assert!(ok && out.contains("Public store created."), "{out}");
    let (ok, _, err) = kc_admin(&cfg, &["-s"]);
    assert!(!ok && err.contains("KCERR_COLLISION"), "{err}");

    let (ok, out, _) = kc_admin(&cfg, &["-d", "john"]);
    assert!(ok && out.contains("User deleted."), "{out}");
    let (ok, out, _) = kc_admin(&cfg, &["--list-orphans"]);
    assert!(ok);
    assert!(
        out.contains("Stores without users:") && out.contains("john"),
        "{out}"
    );
    let users_part = out.split("Users without stores:").nth(1).unwrap_or("");
    assert!(users_part.contains("\tmary"), "{out}");

    // Over TLS with a trusted client certificate; an untrusted one is refused.
    let admin_pem = tmp.path().join("admin.pem");
    std::fs::write(&admin_pem, &admin.combined_pem).unwrap();
    let other_pem = tmp.path().join("other.pem");
    std::fs::write(&other_pem, &other.combined_pem).unwrap();
    let tls_cfg = tmp.path().join("admin-tls.cfg");
    let write_tls = |key: &Path| {
        std::fs::write(
            &tls_cfg,
            format!(
                "server_socket = https://localhost:{}/kopano\nsslkey_file = {}\nserver_ssl_ca_file = {}\n",
                node.tls_port,
                key.display(),
                pki.ca_file.display()
            ),
        )
        .unwrap();
    };
    write_tls(&admin_pem);
    let (ok, out, err) = kc_admin(&tls_cfg, &["-l"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("\tmary\tMary Jones"), "{out}");
    write_tls(&other_pem);
    let (ok, _, err) = kc_admin(&tls_cfg, &["-l"]);
    assert!(!ok && err.contains("LOGON_FAILED"), "{err}");
}
