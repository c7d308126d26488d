//! The one-way crate graph: the gateway and the store-API crate never pull in
//! the node (kc-server) or what only the node needs (SQLite, the directory,
//! LDAP, argon2). Checked on the resolved graph with `cargo tree` (offline:
//! the lock file and the local registry cache are enough), with the default
//! edges, so dev-dependencies count too.

use std::process::Command;

/// Crates that must not appear below the gateway or the store API.
const NODE_ONLY: &[&str] = &[
    "kc-server",
    "kc-directory",
    "rusqlite",
    "libsqlite3-sys",
    "ldap3",
    "argon2",
];

/// Every package name in `cargo tree -p <package>`.
fn dependencies(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "--prefix", "none", "--format", "{p}"])
        .args(["-p", package])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn assert_free_of_node(package: &str) {
    let deps = dependencies(package);
    assert!(
        deps.iter().any(|d| d == package),
        "cargo tree did not list {package} itself: {deps:?}"
    );
    let found: Vec<&str> = NODE_ONLY
        .iter()
        .copied()
        .filter(|n| deps.iter().any(|d| d == n))
        .collect();
    assert!(found.is_empty(), "{package} depends on {found:?}");
}

#[test]
fn gateway_does_not_depend_on_the_node() {
    assert_free_of_node("kc-gateway");
}

#[test]
fn store_api_does_not_depend_on_the_node() {
    assert_free_of_node("kc-store-api");
}
