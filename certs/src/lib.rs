//! Certificate authority commands (`kc-certs`) and the TLS loader every kc service uses.
//!
//! - [`tls`]: loading PEM material, building rustls server and client configurations,
//!   reloading them on SIGHUP, the `sslkeys_path` public-key rule and chain verification.
//!   Every kc service builds its TLS through this module.
//! - [`authority`]: the small certificate authority behind the `kc-certs` binary
//!   (the Rust replacement for KC's `ssl-certificates.sh`).
//! - [`inspect`]: the human-readable certificate summary of `kc-certs inspect`.

pub mod authority;
pub mod inspect;
pub mod tls;
