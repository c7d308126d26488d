//! TLS material and rustls configurations for every kc service.
//!
//! The crypto provider is always *ring*: configurations are built with an explicit
//! ring provider, so they do not depend on the process default, but every `main`
//! should still call [`install_crypto_provider`] first so that third-party code
//! (pingora, ldap3, hickory) finds the same provider.

mod client;
mod error;
mod load;
pub mod pem;
mod provider;
mod reload;
mod roots;
mod server;
mod sslkeys;
mod stream;
mod verify;

pub use client::ClientTls;
pub use error::TlsError;
pub use load::{
    load_cert_chain, load_cert_chain_and_key, load_private_key, read_limited, MAX_FILE_SIZE,
};
pub use provider::{install_crypto_provider, provider};
pub use reload::{ReloadingCertResolver, ReloadingServerConfig};
pub use roots::{load_roots, load_roots_with_certs};
pub use server::{ClientAuth, ServerTls};
pub use sslkeys::{spki_of_certificate, SslKeys};
pub use stream::MaybeTls;
pub use verify::{handshake_error, map_verification_error, verify_certificate, Purpose};
