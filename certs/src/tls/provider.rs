//! The process-wide rustls crypto provider (ring only).

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// Installs *ring* as the process-default rustls crypto provider.
///
/// Idempotent: a second call, or a provider installed earlier by a library such as
/// pingora (which also installs ring), is not an error. Call it first in every `main`.
pub fn install_crypto_provider() {
    // An Err only means a provider is already installed, which is the desired state.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The ring provider that every configuration in this module is built with.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
