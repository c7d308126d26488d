//! The certificate authority behind `kc-certs` (filled in below the TLS module).
