#!/usr/bin/env bash
# Formats the code, or with --check fails where it is not formatted (CI runs that):
# Prettier for TypeScript, JavaScript and JSON, rustfmt for the engine crate and its fuzz crate.
# The crate's manifest uses a nightly Cargo feature, hence RUSTC_BOOTSTRAP for cargo fmt.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--check" ]; then
  npx prettier --check .
  for crate in wasm wasm/fuzz; do RUSTC_BOOTSTRAP=1 cargo fmt --manifest-path "$crate/Cargo.toml" --check; done
  echo "format check passed"
else
  npx prettier --write --log-level warn .
  for crate in wasm wasm/fuzz; do RUSTC_BOOTSTRAP=1 cargo fmt --manifest-path "$crate/Cargo.toml"; done
fi
