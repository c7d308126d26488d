//! kc-proxy: the DMZ edge of a kc (Kopano Core) installation.
//!
//! It terminates TLS for HTTP/1.1, HTTP/2 (pingora 0.9 on rustls) and
//! HTTP/3 (quinn + h3), and forwards to the store nodes:
//!
//! - `/kopano` and `/zarafa` go to the default node, `/zN` to node N; the
//!   node list comes from the directory's server objects plus static
//!   entries ([`nodes`], [`directory`]);
//! - ActiveSync and CalDAV paths go to the user's home node ([`identity`]);
//! - the proxy header (`kopano_proxy: yes`) and a stable `X-Forwarded-For`
//!   are set, client copies of forwarding and identity headers removed
//!   ([`headers`]);
//! - `Location`, `Content-Location`, `URI` and `Destination` get
//!   ProxyPassReverse treatment ([`reverse`]), and SOAP redirect replies
//!   naming a node's internal URL are rewritten to the public `/zN` URL
//!   ([`soap`], [`body`]).
//!
//! IMAP and POP3 (143/993, 110/995) are proxied to the user's home node's
//! gateway after the edge has seen the login ([`mail`]).
//!
//! What it does not do: it never authenticates users (the nodes do), never
//! holds a key from a node's `sslkeys_path`, and never re-encodes bodies other
//! than bounded SOAP replies.
//!
//! Layout: pure, fuzzable logic ([`route`], [`reverse`], [`soap`], [`body`],
//! [`identity`], [`headers`], [`nodes`], [`access_log`] formatting) is kept
//! apart from I/O ([`edge`], the one `ProxyHttp` implementation whose phase
//! methods call those modules; [`h3`]; [`admin`]; [`app`], the wiring). The
//! phase chart is in the crate README.
#![forbid(unsafe_code)]

pub mod access_log;
pub mod admin;
pub mod app;
pub mod body;
pub mod ctx;
pub mod directory;
pub mod dispatch;
pub mod edge;
pub mod h3;
pub mod headers;
pub mod identity;
pub mod mail;
pub mod metrics;
pub mod nodes;
pub mod resolve;
pub mod respond;
pub mod reverse;
pub mod route;
pub mod settings;
pub mod soap;
pub mod state;
pub mod tls;
