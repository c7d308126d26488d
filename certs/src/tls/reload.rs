//! Server configurations that re-read their files on SIGHUP.
//!
//! Established connections keep the configuration they were accepted with; only new
//! handshakes see the reloaded material. The certificate lives behind a shared
//! [`ReloadingCertResolver`], so even a listener that was handed a configuration (or
//! just the resolver, as pingora's `TlsSettings::set_cert_resolver` takes it) once
//! at start-up serves the new certificate after [`ReloadingServerConfig::reload`].
//! A changed CA or client-auth policy needs [`ReloadingServerConfig::current`], so
//! accept loops should fetch it per connection (an atomic load, no lock).

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

use super::{ServerTls, TlsError};

/// A certificate resolver whose certificate can be swapped atomically.
#[derive(Debug)]
pub struct ReloadingCertResolver {
    key: ArcSwap<CertifiedKey>,
}

impl ReloadingCertResolver {
    /// The certificate new handshakes get.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.key.load_full()
    }
}

impl ResolvesServerCert for ReloadingCertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.key.load_full())
    }
}

/// A [`ServerTls`] whose rustls configuration is rebuilt from disk by [`Self::reload`].
pub struct ReloadingServerConfig {
    spec: ServerTls,
    resolver: Arc<ReloadingCertResolver>,
    config: ArcSwap<ServerConfig>,
    // Serialises reloads so two SIGHUPs cannot interleave key and config swaps.
    reloading: Mutex<()>,
}

impl std::fmt::Debug for ReloadingServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingServerConfig")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl ReloadingServerConfig {
    /// Loads the material once; fails like [`ServerTls::build`].
    pub fn new(spec: ServerTls) -> Result<Self, TlsError> {
        let resolver = Arc::new(ReloadingCertResolver {
            key: ArcSwap::new(spec.certified_key()?),
        });
        let config = spec.build_with_resolver(resolver.clone())?;
        Ok(Self {
            spec,
            resolver,
            config: ArcSwap::new(config),
            reloading: Mutex::new(()),
        })
    }

    /// The configuration for the next accepted connection.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.config.load_full()
    }

    /// The shared certificate resolver (for listeners that take a resolver).
    pub fn resolver(&self) -> Arc<ReloadingCertResolver> {
        self.resolver.clone()
    }

    /// The settings the files are read with.
    pub fn spec(&self) -> &ServerTls {
        &self.spec
    }

    /// Re-reads certificate, key and CA. On any error the previous material stays in
    /// use and the error is returned for logging; nothing is half-applied.
    pub fn reload(&self) -> Result<(), TlsError> {
        let _guard = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let key = self.spec.certified_key()?;
        // The verifier is built before anything is swapped, so a bad CA keeps the old state.
        let config = self.spec.build_with_resolver(self.resolver.clone())?;
        self.resolver.key.store(key);
        self.config.store(config);
        tracing::info!(cert = %self.spec.cert_file.display(), "TLS material reloaded");
        Ok(())
    }
}

impl ResolvesServerCert for ReloadingServerConfig {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.resolver.resolve(hello)
    }
}
