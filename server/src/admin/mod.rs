//! kc's admin API (a small kc-specific JSON API on the node's listeners) and
//! its client used by `kc-admin`.

pub mod client;
pub mod proto;
pub mod server;
