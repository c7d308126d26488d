//! End-to-end tests that start real kc processes and real peers (slapd, openssl, curl, ...).
//!
//! This library holds what every end-to-end test needs: where the workspace's binaries
//! are, free loopback ports, child processes that die with the test, waiting for a port,
//! and a loud failure when a required tool is missing (a test never skips itself).
//!
//! The binaries are not built by `cargo test -p kc-tests` alone: `scripts/test.sh` runs
//! `cargo build --workspace --bins` first. [`bin`] fails with that hint when one is missing.

pub mod harness;
pub mod proxy_support;

pub use harness::{bin, free_port, require_tool, wait_for_port, workspace_root, Proc};
