//! The skeleton every kc binary shares: standard command-line options,
//! `--check-config`, logging, signals and daemonizing.
