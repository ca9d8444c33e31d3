# Sourced by the scripts in this directory: which toolchain can run unstable flags here.
#
# Sanitizers, Miri and build-std are unstable. The nightly toolchain is the supported way; where
# it is missing (a machine that cannot reach rustup), the stable toolchain still ships the
# sanitizer runtimes, and RUSTC_BOOTSTRAP=1 lets it accept `-Zsanitizer`. That is a deliberate
# use of an escape hatch meant for building the compiler: the flags are the same code as on
# nightly of that version, but nothing promises they work, so a failure to *build* under it is
# reported as a skip, not as a finding.

# The host target: sanitized builds pass it explicitly so build scripts and proc macros are not
# instrumented.
HOST_TARGET=$(rustc -vV | sed -n 's/^host: //p')

# Prints a notice and returns 1 (the caller skips) if `$1` is not true.
notice() { printf 'notice: %s; skipped\n' "$*"; }

have_nightly() { cargo +nightly --version >/dev/null 2>&1; }

# The sysroot of toolchain `$1` (`+nightly`, or empty for the default one).
sysroot_of() { rustc ${1:+"$1"} --print sysroot 2>/dev/null; }

# Whether toolchain `$1` (`+nightly`, or empty for the default) ships sanitizer `$2`'s runtime.
has_runtime() {
  local sysroot
  sysroot=$(sysroot_of "$1") || return 1
  ls "$sysroot/lib/rustlib/$HOST_TARGET/lib/"librustc-*_rt."$2".a >/dev/null 2>&1
}

# Whether toolchain `$1` has the standard library's source (for -Zbuild-std).
has_rust_src() {
  local sysroot
  sysroot=$(sysroot_of "$1") || return 1
  [ -d "$sysroot/lib/rustlib/src/rust/library" ]
}

# Sets UNSTABLE (an array: the cargo command that accepts -Z flags) for sanitizer `$1`, preferring
# nightly; returns 1 when neither toolchain can.
pick_unstable_cargo() {
  if have_nightly && has_runtime +nightly "$1"; then
    UNSTABLE=(cargo +nightly)
  elif has_runtime "" "$1"; then
    UNSTABLE=(env RUSTC_BOOTSTRAP=1 cargo)
  else
    return 1
  fi
  printf 'using: %s\n' "${UNSTABLE[*]}"
}
