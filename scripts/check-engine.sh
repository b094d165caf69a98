#!/usr/bin/env bash
# Checks the engine crate's source on the host: clippy with warnings as errors,
# then its unit tests (the #[cfg(test)] modules in wasm/src). The crate builds
# natively as the fuzz workspace's engine package (wasm/fuzz/engine), as a
# library whose host imports only a full program would need. rustup's stable
# Rust; RUSTC_BOOTSTRAP for the manifests' nightly Cargo features.
set -euo pipefail
cd "$(dirname "$0")/../wasm/fuzz"

command -v rustup >/dev/null || { echo "check-engine.sh needs rustup's stable Rust (https://rustup.rs)" >&2; exit 1; }
export RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$PWD/target/host"
cargo +stable clippy --locked -p pinned_fetch_engine --all-targets -- -D warnings
cargo +stable test --locked -p pinned_fetch_engine
