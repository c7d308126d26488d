//! End-to-end tests that start real kc processes and real peers (slapd, openssl, curl, ...).
//!
//! This library holds what every end-to-end test needs:
//! - [`process`]: where the workspace's binaries are, free loopback ports, waiting for a
//!   port, a loud failure when a required tool is missing (a test never skips itself), and
//!   [`Proc`], the one wrapper of a child process that dies with the test;
//! - [`pki`]: the one test PKI (rcgen);
//! - [`slapd`]: a private OpenLDAP server;
//! - [`server_harness`]: kc-server with SOAP/HTTP clients; [`cluster`]: nodes over one
//!   directory, built with [`cluster::Cluster::builder`]; [`gateway_harness`]: kc-gateway
//!   beside a node; [`mail_stack`]: nodes, gateways and an edge; [`proxy_support`]: a
//!   stand-alone kc-proxy, curl and echo nodes.
//!
//! The binaries are not built by `cargo test -p kc-tests` alone: `scripts/test.sh` runs
//! `cargo build --workspace --bins` first. [`bin`] fails with that hint when one is missing.

pub mod cluster;
pub mod gateway_harness;
pub mod mail_stack;
pub mod pki;
pub mod process;
pub mod proxy_support;
pub mod server_harness;
pub mod slapd;

pub use process::{bin, free_port, require_tool, wait_for_port, workspace_root, Proc};
