//! Every way a user can misuse the public API gets a clear, typed error, and the object stays
//! usable where it should: calls after close or shutdown (loop, thread pool, process pool, portal),
//! NUL bytes and over-long host names, arguments and results that cannot be encoded or decoded,
//! over-size frames, re-entrant waits, a panicking exception handler, a panicking initializer, and
//! more. One file, so that the catalogue of misuses is in one place; `harness = false` because the
//! process-pool cases need `tulip::process::init()` first.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "bad_input/cases.rs",
    "also feeds Unix sockets and descriptor numbers to the loop (std::os::unix) (README, Platforms)"
);
