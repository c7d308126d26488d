//! Every lookup, proven against a real slapd and against the LDIF source with
//! one shared test body.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::*;
use kc_directory::{lookup_report, DirError, Directory, ObjectKind};

/// The shared assertions: both sources must give exactly these answers.
async fn check_all_lookups(dir: &Directory) {
    // login name -> user, case-insensitively, with all mapped attributes.
    let alice = dir.user("ALICE").await.expect("alice");
    assert_eq!(alice.login, "alice");
    assert_eq!(alice.unique_id, "1001");
    assert_eq!(
        alice.dn.as_deref(),
        Some("uid=alice,ou=People,dc=example,dc=com")
    );
    assert_eq!(alice.fullname, "Alice Archer");
    assert_eq!(alice.email, "alice@example.com");
    assert_eq!(
        alice.aliases,
        ["a.archer@example.com", "postmaster@example.com"]
    );
    assert_eq!(alice.home_server.as_deref(), Some("z1"));
    assert!(alice.is_admin);
    assert!(!alice.nonactive);
    assert_eq!(alice.company, None);
    assert_eq!(alice.enabled_features, ["imap"]);
    let server_off = vec!["imap".to_string(), "pop3".to_string()];
    assert!(alice.feature_enabled("imap", &server_off));
    assert!(!alice.feature_enabled("pop3", &server_off));

    let bob = dir.user("bob").await.expect("bob");
    assert_eq!(bob.home_server.as_deref(), Some("z2"));
    assert!(!bob.is_admin);
    let mut dis = bob.disabled_features.clone();
    dis.sort();
    assert_eq!(dis, ["imap", "mobile", "pop3"]);
    assert!(!bob.feature_enabled("mobile", &[]));

    let carol = dir.user("carol").await.expect("carol");
    assert_eq!(carol.fullname, "Carol Cörtez");
    assert_eq!(carol.home_server.as_deref(), Some("z3"));
    assert!(carol.feature_enabled("pop3", &server_off));
    assert!(!carol.feature_enabled("mobile", &[]));

    let dave = dir.user("dave").await.expect("dave");
    assert!(dave.nonactive);

    let frank = dir.user("frank").await.expect("frank");
    assert_eq!(frank.company.as_deref(), Some("acme"));

    // Not found and ambiguous are distinct, clear errors.
    assert_eq!(
        dir.user("nobody").await,
        Err(DirError::NotFound {
            kind: ObjectKind::User,
            name: "nobody".into()
        })
    );
    assert!(matches!(
        dir.user("twin").await,
        Err(DirError::Ambiguous { count: 2, .. })
    ));

    assert!(matches!(dir.user("").await, Err(DirError::NotFound { .. })));
    assert!(matches!(
        dir.user(&"a".repeat(5000)).await,
        Err(DirError::NotFound { .. })
    ));

    // Filter injection: escaped per RFC 4515, so these find nothing.
    for hostile in [
        "*)(uid=*",
        "admin)(|(a=*",
        "*",
        "alice)(uid=bob",
        "al*",
        "\\2a",
    ] {
        match dir.user(hostile).await {
            Err(DirError::NotFound { .. }) => {}
            other => panic!("{hostile:?} must find nothing, got {other:?}"),
        }
        assert_eq!(
            dir.authenticate(hostile, "alice-secret").await,
            Err(DirError::InvalidCredentials),
            "{hostile:?}"
        );
    }

    // server name -> details, URLs built as KC builds them.
    let z1 = dir.server("Z1").await.expect("z1");
    assert_eq!(z1.name, "z1");
    assert_eq!(z1.address, "z1.example.lan");
    assert_eq!(z1.http_url().as_deref(), Some("http://z1.example.lan:236/"));
    assert_eq!(
        z1.https_url().as_deref(),
        Some("https://z1.example.lan:237/")
    );
    assert_eq!(
        z1.file_url().as_deref(),
        Some("file:///var/run/kopano/server.sock")
    );
    assert_eq!(
        z1.proxy_url.as_deref(),
        Some("https://edge.example.com/z1/")
    );
    assert!(!z1.contains_public);
    let z2 = dir.server("z2").await.expect("z2");
    assert_eq!(z2.http_url().as_deref(), Some("http://192.0.2.2:236/"));
    assert_eq!(z2.file_url(), None);
    let z3 = dir.server("z3").await.expect("z3");
    assert_eq!(z3.https_url(), None);
    assert_eq!(
        z3.http_url().as_deref(),
        Some("http://z3.example.lan:8080/")
    );
    assert!(matches!(
        dir.server("z9").await,
        Err(DirError::NotFound {
            kind: ObjectKind::Server,
            ..
        })
    ));
    assert!(matches!(
        dir.server("*").await,
        Err(DirError::NotFound { .. })
    ));

    // public store node
    let public = dir.public_store_server().await.expect("public");
    assert_eq!(public.name, "z3");
    assert!(public.contains_public);

    // company -> server
    assert_eq!(dir.company_server("ACME").await.expect("acme").name, "z2");
    assert!(matches!(
        dir.company_server("*").await,
        Err(DirError::NotFound {
            kind: ObjectKind::Company,
            ..
        })
    ));

    // all servers, all users
    let names: BTreeSet<String> = dir
        .servers()
        .await
        .expect("servers")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["z1".into(), "z2".into(), "z3".into()])
    );
    let logins: BTreeSet<String> = dir
        .users()
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.login)
        .collect();
    let want: BTreeSet<String> = ["alice", "bob", "carol", "dave", "nohome", "twin", "frank"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(logins, want);

    // groups and members
    let staff = dir.group("Staff").await.expect("staff");
    assert_eq!(staff.members, ["alice", "bob"]);
    assert!(staff.is_security);

    // authenticate: {SSHA}, {SHA}, plain; wrong and empty passwords refused.
    assert_eq!(
        dir.authenticate("alice", "alice-secret")
            .await
            .expect("alice login")
            .login,
        "alice"
    );
    assert_eq!(
        dir.authenticate("Bob", "bob-secret")
            .await
            .expect("bob login")
            .login,
        "bob"
    );
    assert!(dir.authenticate("carol", "carol-secret").await.is_ok());
    assert_eq!(
        dir.authenticate("alice", "wrong").await,
        Err(DirError::InvalidCredentials)
    );
    assert_eq!(
        dir.authenticate("alice", "").await,
        Err(DirError::InvalidCredentials)
    );
    assert_eq!(
        dir.authenticate("nobody", "x").await,
        Err(DirError::InvalidCredentials)
    );
    // Non-active (shared store) users cannot log in even with the right password.
    assert_eq!(
        dir.authenticate("dave", "dave-secret").await,
        Err(DirError::InvalidCredentials)
    );

    // the --lookup report
    let report = lookup_report(dir, "alice").await.expect("report");
    assert!(report.contains("home node:     z1"), "{report}");
    assert!(report.contains("http://z1.example.lan:236/"), "{report}");
    assert!(report.contains("https://z1.example.lan:237/"), "{report}");
    assert!(
        report.contains("file:///var/run/kopano/server.sock"),
        "{report}"
    );
    assert!(report.contains("https://edge.example.com/z1/"), "{report}");
    let nohome = lookup_report(dir, "nohome").await.expect("report");
    assert!(nohome.contains("(none"), "{nohome}");
    assert!(matches!(
        lookup_report(dir, "nobody").await,
        Err(DirError::NotFound { .. })
    ));

    // Answers above came from the cache after the first search.
    let s = dir.stats();
    assert!(s.hits > 0 && s.misses > 0, "{s:?}");
}

#[tokio::test]
async fn ldap_source_lookups() {
    let slapd = Slapd::start(false, &data_ldif());
    let dir = Directory::new(ldap_directory_settings(vec![slapd.uri()]))
        .await
        .expect("directory");
    check_all_lookups(&dir).await;
    // Invalidate drops the cache: the next lookup searches again.
    let before = dir.stats().searches;
    dir.invalidate();
    dir.user("alice").await.expect("alice");
    assert!(dir.stats().searches > before);
}

#[tokio::test]
async fn ldif_source_lookups() {
    let dir = Directory::new(ldif_directory_settings(data_ldif()))
        .await
        .expect("directory");
    check_all_lookups(&dir).await;
}

/// 1,000 concurrent first lookups of one user cause exactly one source search.
async fn check_single_flight(dir: &Directory) {
    let before = dir.stats();
    let dir = Arc::new(dir.clone());
    let mut tasks = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let d = dir.clone();
        tasks.push(tokio::spawn(async move { d.user("carol").await }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("join").expect("carol").login, "carol");
    }
    let after = dir.stats();
    assert_eq!(
        after.searches - before.searches,
        1,
        "{before:?} -> {after:?}"
    );
    assert_eq!(after.misses - before.misses, 1);
    // The other 999 were served by the one search (coalesced) or, if they
    // arrived after it finished, by the cache. (The company list consulted
    // for the user's company is a cache hit too, preloaded at startup.)
    assert!((after.hits - before.hits) + (after.coalesced - before.coalesced) >= 999);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_single_flight_1000() {
    let slapd = Slapd::start(false, &data_ldif());
    let dir = Directory::new(ldap_directory_settings(vec![slapd.uri()]))
        .await
        .expect("directory");
    check_single_flight(&dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldif_single_flight_1000() {
    let dir = Directory::new(ldif_directory_settings(data_ldif()))
        .await
        .expect("directory");
    check_single_flight(&dir).await;
}

/// The standalone demo config (LDIF mode) through kc-configs.
#[tokio::test]
async fn ldif_source_from_ldap_cfg() {
    let cfg = kc_configs::Config::load(
        &data_ldif().with_file_name("ldap.cfg"),
        kc_configs::schemas::ldap(),
    )
    .expect("testdata/ldap.cfg");
    let dir = Directory::from_config(&cfg).await.expect("directory");
    check_all_lookups(&dir).await;
}

/// An LDAP-mode ldap.cfg (ldaps with ldap_tls_ca_file) through kc-configs.
#[tokio::test]
async fn ldap_source_from_ldap_cfg() {
    let slapd = Slapd::start(true, &data_ldif());
    let pki = slapd.pki.as_ref().expect("pki");
    let text = format!(
        "ldap_uri = ldap://127.0.0.1:{closed}/ {ldaps}\n\
         ldap_tls_ca_file = {ca}\n\
         ldap_bind_user = {BIND_DN}\nldap_bind_passwd = {BIND_PW}\n\
         ldap_search_base = {BASE}\nldap_network_timeout = 5\nldap_page_size = 3\n\
         ldap_user_search_filter = (kopanoAccount=1)\n\
         ldap_company_type_attribute_value = kopano-company\n\
         ldap_server_type_attribute_value = kopano-server\n",
        closed = free_port(),
        ldaps = slapd.ldaps_uri(),
        ca = pki.ca_file.display(),
    );
    let path = slapd.dir.path().join("ldap.cfg");
    std::fs::write(&path, text).expect("write ldap.cfg");
    let cfg = kc_configs::Config::load(&path, kc_configs::schemas::ldap()).expect("ldap.cfg");
    let dir = Directory::from_config(&cfg).await.expect("directory");
    check_all_lookups(&dir).await;
}

/// schema/kopano.ldif (the cn=config form) loads into slapd and serves the
/// same data as schema/kopano.schema.
#[tokio::test]
async fn ldap_source_with_cn_config_schema() {
    let slapd = Slapd::start_cn_config(&data_ldif());
    let dir = Directory::new(ldap_directory_settings(vec![slapd.uri()]))
        .await
        .expect("directory");
    check_all_lookups(&dir).await;
}

/// A missing slapd (or any required tool) fails the test loudly; it never skips.
#[test]
#[should_panic(expected = "required tool '/nonexistent/slapd' is not installed")]
fn missing_tool_fails_loudly() {
    kc_tests::require_tool("/nonexistent/slapd");
}
