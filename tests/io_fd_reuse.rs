//! A reader left on a closed fd (the `add_reader` contract broken on purpose) does not hurt an
//! innocent `Async` that gets the same fd number: sources are keyed by slab index, and a number the
//! OS lets the loop register afresh marks the old source stale.
//!
//! On Linux breaking that contract is memory-safe (epoll forgets a closed fd); it is the scenario in
//! which an fd-keyed loop answered the innocent `readable()` with `ENOENT`.
//!
//! One test per binary on purpose: the check depends on fd numbers, which are process-wide.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(unix, test, "io_fd_reuse/cases.rs", "fd numbers and dup2 are Unix concepts");
