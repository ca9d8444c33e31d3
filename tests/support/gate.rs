//! One gate per test file, for targets that cannot run on every platform.
//!
//! A gated target keeps its doc comment in `tests/<name>.rs` and its body in
//! `tests/<name>/cases.rs`, and says once where it runs and why not elsewhere:
//!
//! ```ignore
//! #[macro_use]
//! #[path = "support/gate.rs"]
//! mod gate;
//! only_on!(unix, main, "process_pool_kill/cases.rs", "the process pool is Unix-only for now");
//! ```
//!
//! Where the predicate holds, the body is compiled in at the crate root (`include!`), so its test
//! names are those it would have in `tests/<name>.rs`. Elsewhere the target is a single `main`
//! (for `harness = false` targets) or `#[test]` (for libtest ones) that prints
//! `skipped on <platform>: <reason>` and passes.
//!
//! A target of which only a part is gated (a process-pool half beside a thread-pool one, in a
//! `harness = false` target) keeps the rest in `tests/<name>.rs` and the part in a file of
//! `tests/<name>/`, which defines `fn <part>() -> Vec<harness::Case>`; `main` calls it first (it
//! may call `tulip::process::init()`). Elsewhere that function prints the reason and gives no
//! cases:
//!
//! ```ignore
//! only_on!(unix, part process_half, "pools_same_api/process_pool.rs", "the process pool is ..");
//! ```
//!
//! Ungating a target (or a part) is one line: replace its `only_on!(..)` with the `include!` of
//! the same file, e.g. `include!("process_pool_kill/cases.rs");`. When the last `only_on!` of a
//! target is gone, its three lines of `mod gate` can go too (they warn of nothing).
//!
//! The bodies are included, not modules, so `cargo fmt` does not reach them: check them with
//! `rustfmt --check --edition 2021 tests/*/*.rs`. Inside a body, `#[path]` is relative to
//! `tests/<name>/`, so the support files are `../support/..`.
#![allow(dead_code, unused_macros)] // used only where a target is skipped; an ungated one drops it

use std::io::Write;

/// Prints `skipped on <platform>: <reason>`, past libtest's capture of `println!` (which would
/// hide it for a passing test), so that a run under Wine shows it.
pub fn skip(reason: &str) {
    let platform = if cfg!(windows) { "Windows" } else { std::env::consts::OS };
    let _ = writeln!(std::io::stdout(), "skipped on {platform}: {reason}");
}

/// Compiles the body where `$cfg` holds; elsewhere prints why the target is skipped.
macro_rules! only_on {
    ($cfg:meta, main, $body:literal, $reason:literal) => {
        #[cfg($cfg)]
        include!($body);

        #[cfg(not($cfg))]
        fn main() {
            gate::skip($reason);
        }
    };
    ($cfg:meta, test, $body:literal, $reason:literal) => {
        #[cfg($cfg)]
        include!($body);

        #[cfg(not($cfg))]
        #[test]
        fn skipped() {
            gate::skip($reason);
        }
    };
    ($cfg:meta, part $part:ident, $body:literal, $reason:literal) => {
        #[cfg($cfg)]
        include!($body);

        #[cfg(not($cfg))]
        fn $part() -> Vec<harness::Case> {
            gate::skip($reason);
            Vec::new()
        }
    };
}
