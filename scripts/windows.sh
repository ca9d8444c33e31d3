#!/usr/bin/env bash
# The test suite built for Windows (x86_64-pc-windows-gnu) and run under Wine.
#
#   scripts/windows.sh [extra cargo test args...]
#
# Installs mingw-w64 and Wine from Debian when it can (root with apt-get), adds the Rust target
# (skipped with a notice when rustup cannot reach its server), then runs
# `cargo test --target x86_64-pc-windows-gnu` and the tour with Wine as the runner. Targets that
# cannot run on Windows print `skipped on Windows: <reason>` (README, "Platforms").
#
# Wine 8 lacks `ProcessPrng` in bcryptprimitives.dll, which Rust's std calls for its hash seeds;
# a shim DLL built here forwards it to `SystemFunction036` (RtlGenRandom), which Wine has.
#
# Debian ships Wine's preloader in a package of its own (wine64-preloader). Without it, about one
# Wine start in 3,000 dies at once with status 1 ("failed to map the shared user data": the kernel
# put something at the address Windows programs expect theirs), and a suite of ~1,000 starts fails
# one run in four; the preloader reserves those addresses before anything else is mapped.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/toolchain.sh

TARGET=x86_64-pc-windows-gnu
WINE=/usr/lib/wine/wine64

# First: without the target (rustup's server unreachable) nothing else is worth installing.
rustup target add "$TARGET" >/dev/null 2>&1 || { notice "rustup could not install $TARGET"; exit 0; }
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # A failure here shows in the checks below (each a skip with a notice).
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    gcc-mingw-w64-x86-64 wine64 wine64-preloader >/dev/null; } || echo "notice: apt-get could not install mingw-w64 and Wine"
fi
command -v x86_64-w64-mingw32-gcc >/dev/null || { notice "no mingw-w64 C compiler"; exit 0; }
[ -x "$WINE" ] || { notice "no Wine at $WINE"; exit 0; }
[ -x "$WINE-preloader" ] || echo "notice: no $WINE-preloader: about one Wine start in 3,000 fails at random"

# A prefix of our own, set up once without dialogs (-i: init only), so that the first test does not
# spend its time (or hang) creating one.
export WINEPREFIX=${WINEPREFIX:-$PWD/target/wine-prefix} WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n,b"
# One wineserver for the whole run, started here and stopped on every exit (a budget's timeout
# included). Left to itself, Wine starts a server with each program that finds none, and that server
# ends soon after its last program, SIGKILLing the helper processes it booted (one doctest run
# traced ~100 such ends, about one every 3 s); one server halves the doctests' time.
stop_wine() { /usr/lib/wine/wineserver -k >/dev/null 2>&1 || true; }

# Programs run through scripts/wine-run.sh, which runs one again if it ended by SIGKILL (Wine's own
# kill of a program that deadlocked in its exit; see there) and notes it in $TULIP_WINE_KILLS. Where
# tracefs is writable (root), the kernel's `signal_generate` event is traced for SIGKILL meanwhile,
# so that each note names the sender and the end of the run counts the SIGKILLs delivered, by sender.
kill_event=/sys/kernel/tracing/events/signal/signal_generate
mkdir -p "target/$TARGET"
export TULIP_WINE_KILLS=$PWD/target/$TARGET/wine-kills.log TULIP_SIGKILL_TRACE=
: >"$TULIP_WINE_KILLS"
trace_kills() {
  if [ -w "$kill_event/filter" ] && echo 'sig == 9' >"$kill_event/filter" 2>/dev/null; then
    echo >/sys/kernel/tracing/trace
    echo 1 >"$kill_event/enable"
    echo 1 >/sys/kernel/tracing/tracing_on
    TULIP_SIGKILL_TRACE=/sys/kernel/tracing/trace
  else
    echo "notice: no writable tracefs: SIGKILLs are not traced to their senders"
  fi
}
report_kills() {
  if [ -n "$TULIP_SIGKILL_TRACE" ]; then
    echo 0 >"$kill_event/enable"
    echo 0 >"$kill_event/filter"
    # res=0: delivered. Wine's kills of exiting processes (a pool's killed worker among them) are
    # res=1, ignored by a process already on its way out, and not counted.
    echo "SIGKILLs delivered to live processes during the run, by sender:"
    awk '/ sig=9 / && / res=0/ { sub(/-[0-9]+$/, "", $1); n[$1]++; k++ }
      END { for (s in n) print "  " n[s], s; if (!k) print "  none" }' "$TULIP_SIGKILL_TRACE"
  fi
  if [ -s "$TULIP_WINE_KILLS" ]; then
    echo "notice: programs that ended by SIGKILL and ran again (scripts/wine-run.sh):"
    cat "$TULIP_WINE_KILLS"
  fi
}
trap 'report_kills; stop_wine' EXIT
trap 'exit 143' TERM INT
if [ ! -d "$WINEPREFIX/drive_c/windows/system32" ]; then
  timeout 300 "$WINE" wineboot -i >/dev/null 2>&1 || { notice "wineboot did not finish"; exit 0; }
fi
# Persistent (`-p`): it stays up between programs until `stop_wine`.
stop_wine
/usr/lib/wine/wineserver -p || echo "notice: no persistent wineserver; each program starts its own"
trace_kills

# The shim, in the prefix's system32 (every program finds it there: tests, doctests in temporary
# directories, examples) and beside the test binaries and examples.
shim_dir=target/$TARGET/shim
mkdir -p "$shim_dir"
cat >"$shim_dir/processprng.c" <<'EOF'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG len);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
EOF
x86_64-w64-mingw32-gcc -O2 -shared -o "$shim_dir/bcryptprimitives.dll" "$shim_dir/processprng.c" -ladvapi32
for dir in "$WINEPREFIX/drive_c/windows/system32" "target/$TARGET/debug/deps" "target/$TARGET/debug/examples"; do
  mkdir -p "$dir"
  cp "$shim_dir/bcryptprimitives.dll" "$dir/"
done

export WINE CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$PWD/scripts/wine-run.sh
# The tour first: a quick end-to-end run before the long suite (doctests are slow to link).
cargo run --target "$TARGET" --example tour
# The process pool's doctests are left out under Wine: each doctest's program ends right after
# using its pool, and Wine 8 can leave a worker it was still starting stuck (never running, not
# killable), holding the doctest's output pipe, so that rustdoc waits forever (README, Platforms).
# The pool's own tests (tests/process_pool_*) run.
RUSTDOCFLAGS="${RUSTDOCFLAGS:-} --test-args=--skip=process_pool" cargo test --target "$TARGET" "$@"
