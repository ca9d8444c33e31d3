#!/usr/bin/env bash
# AddressSanitizer (+ LeakSanitizer) over the test suite, the examples and a short soak, and
# ThreadSanitizer over the tests of the cross-thread parts.
#
#   scripts/sanitizers.sh asan         # every test target, two examples, a short soak
#   scripts/sanitizers.sh asan --ci    # the unsafe-heavy targets only, within CI's budget
#   scripts/sanitizers.sh tsan
#
# ASan runs on nightly, or on the default (stable) toolchain with RUSTC_BOOTSTRAP=1 and the
# sanitizer runtime it ships (see toolchain.sh); worker processes are the test binaries themselves,
# so they are instrumented too and inherit ASAN_OPTIONS. Doctests are not run (they would need
# -Zdoctest-xcompile). TSan needs std rebuilt instrumented (-Zbuild-std) or every std atomic is a
# false report, so the library source of the compiler in use: nightly's rust-src, or else Debian's
# rustc-web with its own source (scripts/debian-rust.sh, which CI installs). Each is skipped with a
# notice when its toolchain is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/toolchain.sh

SUPP="$PWD/scripts/sanitizers"

# The targets whose code holds most of the unsafe blocks: spawning, the worker, function
# references, the status page, the loop's tasks and I/O.
ASAN_CI_TESTS=(process_pool_results process_pool_crash_isolation process_pool_lifecycle
  process_pool_handshake security_workers process_pool_kill bad_input io_readiness io_fd_reuse
  tasks threadsafe_wakeup portal pool_results dns_nul_byte prop_timer_purge)

asan() {
  pick_unstable_cargo asan || { notice "no toolchain with the ASan runtime"; return 0; }
  export RUSTFLAGS="-Zsanitizer=address -Cdebuginfo=1" CARGO_TARGET_DIR=target/asan
  # handle_segv=0: tests crash workers on purpose (tests/process_pool_crash_isolation.rs) and
  # check they die by SIGSEGV; ASan's handler would turn that into a report and exit(1). A real
  # wild access still kills the test, just without ASan's report.
  export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:handle_segv=0:suppressions=$SUPP/asan.supp"
  export LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0"
  local cargo=("${UNSTABLE[@]}") targets=(--tests) full=1
  if [ "${1:-}" = --ci ]; then
    shift
    targets=() full=0
    for t in "${ASAN_CI_TESTS[@]}"; do targets+=(--test "$t"); done
  fi
  if ! "${cargo[@]}" build --target "$HOST_TARGET" --lib >/dev/null 2>&1; then
    notice "the library does not build with ${UNSTABLE[*]} -Zsanitizer=address"
    return 0
  fi
  "${cargo[@]}" test --no-fail-fast --target "$HOST_TARGET" --lib "${targets[@]}" "$@"
  if [ "$full" = 1 ]; then
    "${cargo[@]}" run --target "$HOST_TARGET" --example tour
    "${cargo[@]}" run --target "$HOST_TARGET" --example cpu_offload -- 2 1
    "${cargo[@]}" run --target "$HOST_TARGET" --example soak -- --seconds 3
  fi
}

# The tests of the cross-thread parts: the inbox and wakeup, ConcurrentFuture, the spin, the
# thread pool's roles, the process pool driver's shared state, a worker's runner and take-back
# threads, a waiter reading a remote worker's link beside the driver, a remote worker's runner and
# link watcher (and the library's unit tests).
TSAN_TESTS=(threadsafe_wakeup threadsafe_callbacks threadsafe_callback_order future_done_state
  future_on_runtimes spin_policy pool_results pool_cancel pool_shutdown pool_backpressure portal
  executor_to_thread process_pool_cancelled_queued_tasks process_pool_lifecycle process_pool_take_back
  remote_waiter_reads_the_link remote_worker_reads_its_link)

tsan() {
  local cargo
  if have_nightly && has_rust_src +nightly && has_runtime +nightly tsan; then
    cargo=(cargo +nightly)
  elif bash scripts/debian-rust.sh check; then
    # Debian's rustc with its own library source and LLVM's runtime (scripts/debian-rust.sh).
    cargo=(env RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 cargo)
  else
    notice "neither nightly with rust-src nor Debian's rustc-web (scripts/debian-rust.sh install) is here"
    return 0
  fi
  printf 'using: %s\n' "${cargo[*]}"
  export RUSTFLAGS="-Zsanitizer=thread -Cdebuginfo=1" CARGO_TARGET_DIR=target/tsan
  export TSAN_OPTIONS="suppressions=$SUPP/tsan.supp:halt_on_error=1:second_deadlock_stack=1"
  local args=()
  for t in "${TSAN_TESTS[@]}"; do args+=(--test "$t"); done
  "${cargo[@]}" test -Zbuild-std --target "$HOST_TARGET" --lib "${args[@]}" "$@"
}

case "${1:-}" in
  asan) shift; asan "$@" ;;
  tsan) shift; tsan "$@" ;;
  *) echo "usage: $0 asan|tsan [cargo test filters...]" >&2; exit 2 ;;
esac
