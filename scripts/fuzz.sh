#!/usr/bin/env bash
# Fuzzes the engine's exported C ABI: the engine's source built natively with
# its host imports stubbed (wasm/fuzz, see its README.md), under libFuzzer and
# AddressSanitizer. Every mode first builds the target and replays the
# regression inputs (wasm/fuzz/regressions).
#   scripts/fuzz.sh --ci        then fuzzes for 60 s from a fixed seed in a throwaway corpus (CI)
#   scripts/fuzz.sh SECONDS     then fuzzes for SECONDS, growing wasm/fuzz/corpus
#   scripts/fuzz.sh FILE...     then runs these inputs once each, e.g. to reproduce a crash
# A crash leaves its input in wasm/fuzz/artifacts/ and fails the script.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
fuzz="$root/wasm/fuzz"
usage="usage: scripts/fuzz.sh --ci | SECONDS | FILE..."
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
started=$SECONDS

# rustup's Rust, which ships AddressSanitizer's runtime (Debian's rustc-web,
# which builds the engine, does not); -Zsanitizer needs RUSTC_BOOTSTRAP.
command -v rustup >/dev/null || { echo "fuzz.sh needs rustup's stable Rust (https://rustup.rs)" >&2; exit 1; }
cargo=$(rustup which --toolchain stable cargo)
export RUSTC=$(rustup which --toolchain stable rustc) RUSTC_BOOTSTRAP=1
# libFuzzer's instrumentation, as cargo-fuzz sets it, with AddressSanitizer.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Zsanitizer=address -Cforce-frame-pointers=yes"
target=x86_64-unknown-linux-gnu

# The harness must run the engine's code: every crate both builds share
# resolves to the engine's version (only the wasm32 allocator and its
# platform crates are the engine's alone).
versions() { awk '/^name = /{name=$3} /^version = /{print name, $3}' "$1" | tr -d '"' | sort; }
drift=$(comm -23 <(versions "$root/wasm/Cargo.lock") <(versions "$fuzz/Cargo.lock") | grep -vE '^(dlmalloc|wasi|windows-)' || true)
if [ -n "$drift" ]; then
  echo "wasm/fuzz/Cargo.lock differs from the engine's wasm/Cargo.lock in:" >&2
  echo "$drift" >&2
  echo "Copy wasm/Cargo.lock to wasm/fuzz/Cargo.lock, then run cargo build in wasm/fuzz to add the harness's crates." >&2
  exit 1
fi

export CARGO_TARGET_DIR="$fuzz/target"
(cd "$fuzz" && nice -n 10 "$cargo" build --locked --release --target "$target" --bin engine_api)
binary="$CARGO_TARGET_DIR/$target/release/engine_api"
built=$SECONDS

artifacts="$fuzz/artifacts"
mkdir -p "$artifacts"
run() { nice -n 10 "$binary" -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$artifacts/" "$@"; }

shopt -s nullglob
regressions=("$fuzz"/regressions/*)
if [ ${#regressions[@]} -gt 0 ]; then
  run "${regressions[@]}"
fi
echo "fuzz: built in $((built - started)) s, replayed ${#regressions[@]} regression inputs"

# New inputs go to the first corpus directory; the committed ones are only
# read. A status line per new input is too many for a log: the periodic and
# final ones stay, and so does everything a crash prints.
fuzz_in() {
  local corpus=$1
  shift
  mkdir -p "$corpus"
  run -print_final_stats=1 -print_funcs=0 "$@" "$corpus" "$fuzz/seeds" "$fuzz/regressions" 2>&1 \
    | grep -avE --line-buffered '^#[0-9]+[[:space:]]+(NEW|REDUCE)[[:space:]]'
}

case "$1" in
  --ci)
    corpus=$(mktemp -d)
    trap 'rm -rf "$corpus"' EXIT
    fuzz_in "$corpus" -seed=1 -max_total_time=60
    ;;
  *[!0-9]*)
    run "$@"
    ;;
  *)
    fuzz_in "$fuzz/corpus" -max_total_time="$1"
    ;;
esac
echo "fuzz: passed, $((SECONDS - started)) s in all"
