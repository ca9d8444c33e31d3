#!/usr/bin/env bash
# The runner of Windows programs under Wine for scripts/windows.sh: tests, doctests and examples.
#
#   scripts/wine-run.sh program.exe [args...]
#
# Runs the program with Wine, once more if it ended by SIGKILL, and no more. None of our Windows
# code sends Unix signals; the SIGKILL is Wine 8's own. Its `ExitProcess` ends the program's other
# threads with SIGQUIT, and a thread ended at the wrong moment can leave a glibc lock held: the main
# thread then waits forever in `exit()` (`_dl_fini` waiting for the loader's lock, caught with gdb),
# and wineserver SIGKILLs it half a second later. A program that ends while its thread pool's
# workers are still starting meets it about once in 250 runs; in CI, one program of ~400 about
# every other run. Windows ends threads in its kernel, so this is Wine's alone. A second SIGKILL
# fails as before.
#
# Each such kill is written to $TULIP_WINE_KILLS (when set) with its sender, if the kernel's
# `signal_generate` event is being traced (windows.sh does that as root): windows.sh prints them at
# its end, so that every retry is seen and the sender can be named.
set -uo pipefail
WINE=${WINE:-/usr/lib/wine/wine64}
TRACE=${TULIP_SIGKILL_TRACE:-}

# The sender of the SIGKILL that `$1` (a pid) took, from the trace; nothing without one.
sender_of() {
  [ -r "$TRACE" ] || return 0
  awk -v pid="pid=$1" '/ sig=9 / && / res=0/ && index($0, " " pid " ") { s = $1 } END { print s }' "$TRACE"
}

for attempt in 1 2; do
  # In the background only to learn its pid; `<&0` keeps its stdin (a background job gets /dev/null).
  "$WINE" "$@" <&0 &
  pid=$!
  wait "$pid"
  rc=$?
  # 137 is 128 + SIGKILL: no program of ours exits with that code.
  if [ "$rc" -ne 137 ] || [ "$attempt" -eq 2 ]; then
    exit "$rc"
  fi
  sender=$(sender_of "$pid")
  if [ -n "${TULIP_WINE_KILLS:-}" ]; then
    echo "$(date +%T) ${1##*/} (pid $pid) was SIGKILLed by ${sender:-an unknown sender}; ran again" \
      >>"$TULIP_WINE_KILLS"
  fi
done
