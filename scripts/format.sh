#!/usr/bin/env bash
# Formats the code, or with --check fails where it is not formatted (CI runs that):
# Prettier for TypeScript, JavaScript and JSON, rustfmt for the engine crate and its fuzz crate, gofmt for
# the Go test server.
# The crate's manifest uses a nightly Cargo feature, hence RUSTC_BOOTSTRAP for cargo fmt.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--check" ]; then
  npx prettier --check .
  for crate in wasm wasm/fuzz; do RUSTC_BOOTSTRAP=1 cargo fmt --manifest-path "$crate/Cargo.toml" --check; done
  unformatted=$(gofmt -l test/support/go-tls-server)
  if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
  echo "format check passed"
else
  npx prettier --write --log-level warn .
  for crate in wasm wasm/fuzz; do RUSTC_BOOTSTRAP=1 cargo fmt --manifest-path "$crate/Cargo.toml"; done
  gofmt -w test/support/go-tls-server
fi
