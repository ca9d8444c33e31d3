#!/usr/bin/env bash
# Runs each cargo-fuzz target (fuzz/fuzz_targets/) for a bounded time over its corpus.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]    # default: 10 s, every target
#
# New inputs go to a scratch directory, so the corpora kept in the repo (fuzz/corpus/<target>/,
# replayed by `cargo test --lib __fuzz` on every test run) only change by hand. A crash stops the
# script; libFuzzer's artifact is left in fuzz/artifacts/<target>/: fix the bug, then copy the
# artifact into fuzz/corpus/<target>/ so the replay keeps it as a regression test.
# Needs cargo-fuzz (installed from crates.io if missing) and a toolchain that accepts -Z flags
# (see toolchain.sh); skipped with a notice otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/toolchain.sh

secs=${1:-10}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi

pick_unstable_cargo asan || { notice "no toolchain with the ASan runtime that cargo-fuzz uses"; exit 0; }
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked >/dev/null 2>&1 || { notice "cargo-fuzz could not be installed"; exit 0; }
fi

cd fuzz
if ! "${UNSTABLE[@]}" fuzz build -O >/dev/null 2>&1; then
  notice "the fuzz targets do not build with ${UNSTABLE[*]}"
  exit 0
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  echo "-- $t (${secs}s)"
  log="$scratch/$t.log"
  if ! "${UNSTABLE[@]}" fuzz run -O "$t" "$scratch/$t" "corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $t failed: its input is in fuzz/artifacts/$t/"
    exit 1
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' "$log" || true
done
