//! The `kc-certs` command line.

pub mod args;
mod prompt;
mod run;

pub use run::run;
