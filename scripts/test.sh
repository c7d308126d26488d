#!/usr/bin/env bash
# The whole test suite: installs what the tests need, then formatting, lints and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh test

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The end-to-end tests in tests/ start the real binaries, so build them first.
cargo build --workspace --bins --locked
cargo test --workspace --locked --no-fail-fast
