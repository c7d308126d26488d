//! The kc edge: TLS termination, client-certificate checks, `/kopano` and `/zN`
//! routing, the proxy header and redirect rewriting.
pub mod access_log;
pub mod admin;
pub mod body;
pub mod ctx;
pub mod dispatch;
pub mod edge;
pub mod headers;
pub mod identity;
pub mod metrics;
pub mod nodes;
pub mod resolve;
pub mod respond;
pub mod reverse;
pub mod route;
pub mod soap;
pub mod state;
