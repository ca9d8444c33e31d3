#!/usr/bin/env bash
# Debian's own Rust (the `rustc-web` package, the compiler Debian builds its browsers with), set up
# as a second toolchain for ThreadSanitizer where rustup cannot fetch nightly's rust-src.
#
#   scripts/debian-rust.sh install   # root + apt: rustc-web, its library source, LLVM's TSan runtime
#   scripts/debian-rust.sh check     # exit 0 when the toolchain below is ready
#
# TSan needs std rebuilt instrumented (-Zbuild-std), hence the library source of the very compiler
# that builds it: `rust-web-src` is that source for `rustc-web`, from the same Debian upload. Debian
# ships no sanitizer runtimes with it, so the runtime is LLVM's own (`libclang-rt-N-dev`, N the LLVM
# that rustc-web is built on, so the instrumentation and the runtime agree), copied to the name
# rustc links (`librustc-stable_rt.tsan.a`). Unstable flags go through RUSTC_BOOTSTRAP=1, the
# trade-off written in toolchain.sh. The rustup toolchain stays the default: this one is only used
# through `RUSTC=/usr/bin/rustc`.
set -euo pipefail

DEB_RUSTC=/usr/bin/rustc
HOST=x86_64-unknown-linux-gnu
RUNTIME_DIR=/usr/lib/rustlib/$HOST/lib

# Whether Debian's rustc, its library source and the TSan runtime are all in place.
check() {
  [ -x "$DEB_RUSTC" ] && "$DEB_RUSTC" -vV 2>/dev/null | grep 'source tarball' >/dev/null \
    && [ -d /usr/lib/rustlib/src/rust/library ] && [ -f "$RUNTIME_DIR/librustc-stable_rt.tsan.a" ]
}

install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "notice: installing Debian's rustc-web needs root and apt-get; skipped"
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  apt-get install -y -qq --no-install-recommends rustc-web rust-web-src >/dev/null \
    || { echo "notice: apt could not install rustc-web and rust-web-src; skipped"; return 0; }
  local llvm
  llvm=$("$DEB_RUSTC" -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
  apt-get install -y -qq --no-install-recommends "libclang-rt-$llvm-dev" >/dev/null \
    || { echo "notice: apt could not install libclang-rt-$llvm-dev; skipped"; return 0; }
  cp "/usr/lib/llvm-$llvm/lib/clang/$llvm/lib/linux/libclang_rt.tsan-x86_64.a" \
    "$RUNTIME_DIR/librustc-stable_rt.tsan.a"
  check && echo "Debian's $("$DEB_RUSTC" --version) is ready for TSan (LLVM $llvm runtime)"
}

case "${1:-}" in
  install) install ;;
  check) check ;;
  *) echo "usage: $0 install|check" >&2; exit 2 ;;
esac
