//! Connection behaviour against a real slapd: URI failover, StartTLS and
//! ldaps verified with our CA, reconnect after a restart.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::*;
use kc_directory::{CacheConfig, DirError, Directory, DirectorySettings, SourceSettings};

fn no_cache() -> CacheConfig {
    CacheConfig {
        user_ttl: Duration::ZERO,
        server_ttl: Duration::ZERO,
        negative_ttl: Duration::ZERO,
        ..CacheConfig::default()
    }
}

async fn directory(settings: kc_directory::LdapSettings) -> Directory {
    Directory::new(DirectorySettings {
        source: SourceSettings::Ldap(settings),
        mapping: test_mapping(),
        cache: no_cache(),
        auth_method: Default::default(),
    })
    .await
    .expect("directory")
}

#[tokio::test]
async fn failover_from_closed_port() {
    let slapd = Slapd::start(false, &data_ldif());
    let closed = format!("ldap://127.0.0.1:{}/", free_port());
    let dir = directory(ldap_settings(vec![closed, slapd.uri()])).await;
    assert_eq!(
        dir.user("alice")
            .await
            .expect("alice")
            .home_server
            .as_deref(),
        Some("z1")
    );
    assert_eq!(
        dir.authenticate("bob", "bob-secret")
            .await
            .expect("bob")
            .login,
        "bob"
    );
}

#[tokio::test]
async fn failover_from_silent_server() {
    let slapd = Slapd::start(false, &data_ldif());
    // Accepts TCP connections (kernel backlog) but never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_uri = format!(
        "ldap://127.0.0.1:{}/",
        silent.local_addr().expect("addr").port()
    );
    let settings = kc_directory::LdapSettings {
        network_timeout: Duration::from_secs(1),
        ..ldap_settings(vec![silent_uri, slapd.uri()])
    };
    let dir = directory(settings).await;
    assert_eq!(dir.server("z2").await.expect("z2").address, "192.0.2.2");
}

#[tokio::test]
async fn all_servers_down_is_unavailable() {
    let dir = directory(ldap_settings(vec![
        format!("ldap://127.0.0.1:{}/", free_port()),
        format!("ldap://127.0.0.1:{}/", free_port()),
    ]))
    .await;
    assert!(matches!(
        dir.user("alice").await,
        Err(DirError::Unavailable(_))
    ));
    assert!(dir.stats().errors > 0);
}

#[tokio::test]
async fn starttls_with_our_ca() {
    let slapd = Slapd::start(true, &data_ldif());
    let pki = slapd.pki.as_ref().expect("pki");
    let settings = kc_directory::LdapSettings {
        starttls: true,
        tls: Some(tls_config(&pki.ca_file)),
        ..ldap_settings(vec![slapd.uri()])
    };
    let dir = directory(settings).await;
    assert_eq!(
        dir.user("carol")
            .await
            .expect("carol")
            .home_server
            .as_deref(),
        Some("z3")
    );
    assert!(dir.authenticate("alice", "alice-secret").await.is_ok());
    // Proof that StartTLS really happened and verified: without our CA the
    // same server is refused.
    let unverified = kc_directory::LdapSettings {
        starttls: true,
        tls: None,
        ..ldap_settings(vec![slapd.uri()])
    };
    assert!(matches!(
        directory(unverified).await.user("carol").await,
        Err(DirError::Unavailable(_))
    ));
}

#[tokio::test]
async fn ldaps_with_our_ca() {
    let slapd = Slapd::start(true, &data_ldif());
    let pki = slapd.pki.as_ref().expect("pki");
    let settings = kc_directory::LdapSettings {
        tls: Some(tls_config(&pki.ca_file)),
        ..ldap_settings(vec![slapd.ldaps_uri()])
    };
    let dir = directory(settings).await;
    assert_eq!(dir.public_store_server().await.expect("public").name, "z3");
    assert!(dir.authenticate("alice", "alice-secret").await.is_ok());
}

#[tokio::test]
async fn ldaps_with_another_ca_is_refused() {
    let slapd = Slapd::start(true, &data_ldif());
    let other = tempfile::tempdir().expect("tempdir");
    let other_pki = Pki::new(other.path());
    let settings = kc_directory::LdapSettings {
        tls: Some(tls_config(&other_pki.ca_file)),
        ..ldap_settings(vec![slapd.ldaps_uri()])
    };
    let dir = directory(settings).await;
    match dir.user("alice").await {
        Err(DirError::Unavailable(msg)) => assert!(msg.to_lowercase().contains("cert"), "{msg}"),
        other => panic!("expected a certificate failure, got {other:?}"),
    }
}

#[tokio::test]
async fn reconnects_after_restart() {
    let mut slapd = Slapd::start(false, &data_ldif());
    let dir = directory(ldap_settings(vec![slapd.uri()])).await;
    assert!(dir.user("alice").await.is_ok());
    assert!(dir.authenticate("alice", "alice-secret").await.is_ok());
    slapd.restart();
    // The pooled connections died with the old process; the pool notices,
    // reconnects, and the caller never sees the restart.
    assert_eq!(
        dir.user("alice").await.expect("after restart").login,
        "alice"
    );
    assert!(dir.authenticate("alice", "alice-secret").await.is_ok());
    // While it is down, lookups fail as Unavailable; after it is back they work.
    slapd.stop();
    assert!(matches!(
        dir.user("bob").await,
        Err(DirError::Unavailable(_))
    ));
    slapd.restart();
    assert_eq!(dir.user("bob").await.expect("bob").login, "bob");
}

#[tokio::test]
async fn password_compare_method() {
    let slapd = Slapd::start(false, &data_ldif());
    let dir = Directory::new(DirectorySettings {
        source: SourceSettings::Ldap(ldap_settings(vec![slapd.uri()])),
        mapping: test_mapping(),
        cache: no_cache(),
        auth_method: kc_directory::AuthMethod::Password,
    })
    .await
    .expect("directory");
    assert!(dir.authenticate("alice", "alice-secret").await.is_ok());
    assert!(dir.authenticate("bob", "bob-secret").await.is_ok());
    assert!(dir.authenticate("carol", "carol-secret").await.is_ok());
    assert_eq!(
        dir.authenticate("alice", "bob-secret").await,
        Err(DirError::InvalidCredentials)
    );
    assert_eq!(
        dir.authenticate("alice", "").await,
        Err(DirError::InvalidCredentials)
    );
}
