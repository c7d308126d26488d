//! Concurrent first logons of a directory user: the node mirrors the user
//! and creates the store once, and every logon succeeds.

use kc_tests::cluster::*;
use kc_tests::server_harness::Transport;

#[test]
fn concurrent_first_logons_all_succeed() {
    let c = Cluster::start(&[("z1", &[])], &[UserSpec::new("fay", "z1")]);
    let z1 = c.node("z1");
    let results: Vec<u32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..24)
            .map(|_| {
                s.spawn(|| {
                    let mut conn = z1.connect(Transport::Http, &c.pki, None);
                    conn.logon(&[], "fay", &password("fay")).0
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.iter().all(|er| *er == 0), "{results:?}");
    // One store: every session sees the same Inbox.
    let a = c.store("z1", "fay").folder_id("inbox");
    let b = c.store("z1", "fay").folder_id("inbox");
    assert_eq!(a, b);
}

/// A first logon over a real LDAP server: the cluster's directory served
/// by a private slapd instead of the LDIF file; both nodes authenticate the
/// user there, and the home node creates the store once.
#[test]
fn first_logons_over_slapd() {
    let c = Cluster::builder()
        .node("z1", &[])
        .node("z2", &[])
        .user(UserSpec::new("gil", "z2"))
        .slapd()
        .start();
    assert!(c.slapd.is_some());
    let mut at_home = c.node("z2").connect(Transport::Http, &c.pki, None);
    assert_eq!(at_home.logon(&[], "gil", &password("gil")).0, 0);
    let a = c.store("z2", "gil").folder_id("inbox");
    let b = c.store("z2", "gil").folder_id("inbox");
    assert_eq!(a, b);
    let mut elsewhere = c.node("z1").connect(Transport::Http, &c.pki, None);
    assert_eq!(elsewhere.logon(&[], "gil", &password("gil")).0, 0);
    assert_ne!(elsewhere.logon(&[], "gil", "wrong").0, 0);
}
