//! The LDIF source picks up file changes on lookup and on `invalidate()`,
//! and keeps its last good entries when the file becomes invalid.

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;
use kc_directory::{CacheConfig, DirError, Directory};

fn user_entry(login: &str, server: &str) -> String {
    format!(
        "\ndn: uid={login},ou=People,dc=example,dc=com\nobjectClass: inetOrgPerson\n\
         objectClass: posixAccount\nobjectClass: kopano-user\nuid: {login}\ncn: {login}\n\
         sn: {login}\nuidNumber: 3000\ngidNumber: 5000\nhomeDirectory: /home/{login}\n\
         userPassword: {login}-pw\nkopanoAccount: 1\nkopanoUserServer: {server}\n"
    )
}

fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open");
    f.write_all(text.as_bytes()).expect("append");
}

#[tokio::test]
async fn reload_on_change_and_on_invalidate() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("dir.ldif");
    std::fs::copy(data_ldif(), &path).expect("copy");

    // Without caching, every lookup sees the file as it is now.
    let mut settings = ldif_directory_settings(path.clone());
    settings.cache = CacheConfig {
        user_ttl: Duration::ZERO,
        server_ttl: Duration::ZERO,
        negative_ttl: Duration::ZERO,
        ..CacheConfig::default()
    };
    let dir = Directory::new(settings).await.expect("directory");
    assert!(matches!(
        dir.user("newbie").await,
        Err(DirError::NotFound { .. })
    ));
    append(&path, &user_entry("newbie", "z2"));
    assert_eq!(
        dir.user("newbie")
            .await
            .expect("newbie")
            .home_server
            .as_deref(),
        Some("z2")
    );
    assert!(dir.authenticate("newbie", "newbie-pw").await.is_ok());

    // A broken file is logged and ignored: the last good entries stay.
    append(&path, "\nthis is not ldif\n");
    assert!(dir.user("newbie").await.is_ok());
    assert!(dir.user("alice").await.is_ok());

    // With the default cache, a cached "not found" survives a file change
    // until invalidate() (SIGHUP), which also re-reads the file.
    std::fs::copy(data_ldif(), &path).expect("copy");
    let dir = Directory::new(ldif_directory_settings(path.clone()))
        .await
        .expect("directory");
    assert!(matches!(
        dir.user("ghost").await,
        Err(DirError::NotFound { .. })
    ));
    append(&path, &user_entry("ghost", "z3"));
    assert!(matches!(
        dir.user("ghost").await,
        Err(DirError::NotFound { .. })
    ));
    dir.invalidate();
    assert_eq!(
        dir.user("ghost")
            .await
            .expect("ghost")
            .home_server
            .as_deref(),
        Some("z3")
    );
}

#[tokio::test]
async fn missing_or_invalid_file_fails_at_startup() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = Directory::new(ldif_directory_settings(tmp.path().join("nope.ldif"))).await;
    assert!(matches!(missing, Err(DirError::Ldif(_))));
    let bad = tmp.path().join("bad.ldif");
    std::fs::write(&bad, "dn: a\nchangetype: delete\n").expect("write");
    assert!(matches!(
        Directory::new(ldif_directory_settings(bad)).await,
        Err(DirError::Ldif(_))
    ));
}
