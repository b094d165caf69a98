#!/usr/bin/env bash
# Builds the TLS engine (wasm/pinned_fetch.wasm) from wasm/ with one pinned
# toolchain: Debian's rustc-web (std built from source for wasm32), clang-19
# for ring's C, and binaryen's wasm-opt. See ../shared/wasm-toolchain.md.
# The package loads the engine from wasm/engine-base64.js, the same bytes as
# base64 in a module, so that no runtime needs to read a file for it.
#   scripts/build-wasm.sh          rebuild and update the engine, its module and its manifest
#   scripts/build-wasm.sh --check  rebuild and fail if the committed engine or its module differ,
#                                  then fuzz its exported API for a minute (scripts/fuzz.sh --ci)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
crate="$root/wasm"
engine="$crate/pinned_fetch.wasm"
embedded="$crate/engine-base64.js"
manifest="$crate/pinned_fetch.manifest.json"
check=false
[ "${1:-}" = "--check" ] && check=true

install_toolchain() {
  local packages="rustc-web cargo-web rust-web-src lld-22 clang-19 llvm-19 binaryen"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing the engine toolchain: $packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
  else
    echo "The engine toolchain is missing. Install (Debian 12): apt-get install $packages" >&2
    exit 1
  fi
}
[ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && command -v clang-19 >/dev/null \
  && command -v llvm-ar-19 >/dev/null && command -v wasm-opt >/dev/null || install_toolchain

# Debian's rustc, not rustup's (which has no wasm32 standard library here).
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
export CC_wasm32_unknown_unknown=clang-19 AR_wasm32_unknown_unknown=llvm-ar-19
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# Paths must not leak into the binary, so that any checkout builds the same bytes.
export RUSTFLAGS="--remap-path-prefix=$crate=/pinned-fetch/wasm --remap-path-prefix=$cargo_home=/cargo"

(cd "$crate" && /usr/bin/cargo build --locked --release --target wasm32-unknown-unknown -Zbuild-std=core,alloc)

built=$(mktemp --suffix=.wasm)
trap 'rm -f "$built"' EXIT
wasm-opt -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-mutable-globals --enable-multivalue --enable-reference-types \
  "$crate/target/wasm32-unknown-unknown/release/pinned_fetch_engine.wasm" -o "$built"

# The module the package imports: the engine as base64 on one line.
embed() {
  printf '// @ts-self-types="./engine-base64.d.ts"\n'
  printf '// The TLS engine, pinned_fetch.wasm (sha256 %s), as base64: written by scripts/build-wasm.sh.\n' "$sha"
  printf 'export const ENGINE_BASE64 =\n  "%s";\n' "$(base64 -w0 "$1")"
}

sha=$(sha256sum "$built" | cut -d' ' -f1)
if $check; then
  committed=$(sha256sum "$engine" | cut -d' ' -f1)
  listed=$(grep -oE '"sha256": *"[0-9a-f]{64}"' "$manifest" | grep -oE '[0-9a-f]{64}')
  if [ "$sha" != "$committed" ] || [ "$sha" != "$listed" ]; then
    echo "engine check FAILED: the source builds $sha, the committed engine is $committed, its manifest lists $listed." >&2
    echo "Run npm run build:wasm and commit wasm/pinned_fetch.wasm and its manifest." >&2
    exit 1
  fi
  if ! embed "$built" | cmp -s - "$embedded"; then
    echo "engine check FAILED: wasm/engine-base64.js does not hold the engine the source builds ($sha)." >&2
    echo "Run npm run build:wasm and commit wasm/engine-base64.js." >&2
    exit 1
  fi
  echo "engine check passed: wasm/pinned_fetch.wasm and wasm/engine-base64.js ($sha) are what the committed source builds."
  # The same source, natively, under the fuzzer for a bounded time (scripts/fuzz.sh).
  bash "$root/scripts/fuzz.sh" --ci
  exit 0
fi

cp "$built" "$engine"
embed "$built" > "$embedded"
cat > "$manifest" <<JSON
{
  "file": "pinned_fetch.wasm",
  "sha256": "$sha",
  "bytes": $(stat -c %s "$engine"),
  "gzipBytes": $(gzip -9c "$engine" | wc -c),
  "rustc": "$(/usr/bin/rustc --version)",
  "cargo": "$(/usr/bin/cargo --version)",
  "clang": "$(clang-19 --version | head -1)",
  "wasmOpt": "$(wasm-opt --version)"
}
JSON
echo "built wasm/pinned_fetch.wasm and wasm/engine-base64.js: $sha"
