#!/usr/bin/env bash
# Miri over the tests of the code it can run: the frame decoder and encoder, the fate of a dead
# worker's tasks and its property test, the fuzz corpora, the DNS argument checks, the timer heap
# (reactor/heap.rs, the loop's timers without the loop) and the ConcurrentFuture state machine (no
# FFI in any of them; the event loop itself needs epoll and timerfd, which Miri lacks).
#
#   scripts/miri.sh [extra cargo miri test args...]
#
# Needs nightly with the miri component (`rustup +nightly component add miri`); skipped with a
# notice otherwise. Property tests run a few cases under Miri (they are ~1000x slower there).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/toolchain.sh

have_nightly || { notice "no nightly toolchain"; exit 0; }
cargo +nightly miri --version >/dev/null 2>&1 \
  || rustup +nightly component add miri >/dev/null 2>&1 \
  || { notice "miri is not installed and could not be"; exit 0; }

# Isolation off: the corpus replay reads files.
export MIRIFLAGS="-Zmiri-disable-isolation" PROPTEST_CASES=4 CARGO_TARGET_DIR=target/miri
LIB_TESTS=(process_pool::wire process_pool::driver::fate __fuzz dns::tests reactor::heap)
cargo +nightly miri test --lib "$@" -- "${LIB_TESTS[@]}"
cargo +nightly miri test --test future_done_state "$@"
