//! Certificate summaries for `kc-certs inspect`.
