//! An `Async` dropped by the loop itself (inside a reader closure being removed or replaced, or while
//! the loop closes) still deregisters its fd, so a later fd with the same number registers cleanly.
//!
//! One test per binary on purpose: the checks depend on fd numbers, which are process-wide.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(unix, test, "io_source_release/cases.rs", "fd numbers and dup2 are Unix concepts");
