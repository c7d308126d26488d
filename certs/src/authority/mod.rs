//! The small certificate authority behind `kc-certs`: the Rust replacement for KC's
//! `ssl-certificates.sh` (which wraps OpenSSL's `CA.pl`).
//!
//! It keeps the on-disk layout of `CA.pl -newca` (`demoCA/cacert.pem`,
//! `demoCA/private/cakey.pem`, `serial`, `index.txt`, `newcerts/`), so an existing
//! OpenSSL CA can be used and `openssl ca` can still revoke what kc-certs issued.

mod ca;
mod convert;
mod error;
mod files;
mod issue;
mod keys;

pub use ca::{Ca, CaLayout, CaSubject};
pub use convert::{combine, pem_to_der};
pub use error::AuthorityError;
pub use files::{create_private_dir, ensure_absent, write_public, write_secret};
pub use issue::{issue, Issued, LeafKind, LeafRequest};
pub use keys::{encode_private_key, key_pair_from_der, KeyType, NewKey};
