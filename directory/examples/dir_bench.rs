//! Directory benchmark (not a test): starts a private slapd with the test
//! data and prints
//!   - cached lookups per second (the hot path every proxied request takes),
//!   - uncached lookups per second through the same code (one LDAP search each),
//!   - the anchor: `ldapsearch` round trips per second against the same slapd,
//!   - how many LDAP searches 1,000 concurrent first lookups of one user cause.
//!
//! Run with `bench/directory.sh` (release build).

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use kc_directory::{CacheConfig, Directory};

const CACHED_TASKS: usize = 4;
const CACHED_PER_TASK: usize = 250_000;
const UNCACHED: usize = 2_000;
const LDAPSEARCH_RUNS: usize = 200;
const CONCURRENT: usize = 1_000;

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let ldapsearch = kc_tests::require_tool("ldapsearch");
    let slapd = Slapd::start(false, &data_ldif());
    let uri = slapd.uri();
    println!("slapd: {uri} (mdb, test data from directory/testdata/directory.ldif)");

    // --- cached lookups -------------------------------------------------------
    let dir = Directory::new(ldap_directory_settings(vec![uri.clone()]))
        .await
        .expect("directory");
    for login in ["alice", "bob", "carol"] {
        dir.user(login).await.expect("warm-up");
    }
    let before = dir.stats();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CACHED_TASKS {
        let d = dir.clone();
        tasks.push(tokio::spawn(async move {
            let logins = ["alice", "bob", "carol", "ALICE"];
            for i in 0..CACHED_PER_TASK {
                let u = d.user(logins[(i + t) % logins.len()]).await;
                assert!(u.is_ok());
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let cached = start.elapsed();
    let after = dir.stats();
    let n_cached = CACHED_TASKS * CACHED_PER_TASK;

    // --- uncached lookups through the directory (one LDAP search each) ---------
    let mut settings = ldap_directory_settings(vec![uri.clone()]);
    settings.cache = CacheConfig {
        user_ttl: Duration::ZERO,
        negative_ttl: Duration::ZERO,
        ..CacheConfig::default()
    };
    let uncached_dir = Directory::new(settings).await.expect("directory");
    uncached_dir.user("alice").await.expect("warm-up");
    let s0 = uncached_dir.stats().searches;
    let start = Instant::now();
    for _ in 0..UNCACHED {
        uncached_dir.user("alice").await.expect("alice");
    }
    let uncached = start.elapsed();
    let uncached_searches = uncached_dir.stats().searches - s0;

    // --- anchor: ldapsearch round trips (process per lookup, same filter) ------
    let filter = test_mapping().user_by_login_filter("alice");
    let start = Instant::now();
    for _ in 0..LDAPSEARCH_RUNS {
        let out = Command::new(&ldapsearch)
            .args([
                "-x", "-LLL", "-H", &uri, "-D", BIND_DN, "-w", BIND_PW, "-b", BASE,
            ])
            .arg(&filter)
            .arg("kopanoUserServer")
            .output()
            .expect("ldapsearch");
        assert!(out.status.success(), "ldapsearch failed");
    }
    let anchor = start.elapsed();

    // --- 1,000 concurrent first lookups of the same user -------------------------
    let fresh = Directory::new(ldap_directory_settings(vec![uri.clone()]))
        .await
        .expect("directory");
    let b = fresh.stats();
    let fresh = Arc::new(fresh);
    let mut tasks = Vec::with_capacity(CONCURRENT);
    for _ in 0..CONCURRENT {
        let d = fresh.clone();
        tasks.push(tokio::spawn(async move { d.user("carol").await.is_ok() }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.expect("task") {
            ok += 1;
        }
    }
    let a = fresh.stats();

    println!();
    println!("| measure | value |");
    println!("| --- | --- |");
    println!(
        "| cached lookups/s ({n_cached} lookups, {CACHED_TASKS} tasks, 2 threads) | {:.0} |",
        rate(n_cached, cached)
    );
    println!(
        "| cached run: LDAP searches during it (all warmed first) | {} |",
        after.searches - before.searches
    );
    println!(
        "| uncached lookups/s through kc-directory ({UNCACHED} sequential, {uncached_searches} LDAP searches) | {:.0} |",
        rate(UNCACHED, uncached)
    );
    println!(
        "| anchor: ldapsearch round trips/s ({LDAPSEARCH_RUNS} sequential processes, same filter) | {:.0} |",
        rate(LDAPSEARCH_RUNS, anchor)
    );
    println!(
        "| {CONCURRENT} concurrent first lookups of one user: LDAP searches | {} |",
        a.searches - b.searches
    );
    println!(
        "| ... of which answered ok / coalesced waits / cache hits | {ok} / {} / {} |",
        a.coalesced - b.coalesced,
        a.hits - b.hits
    );
}
