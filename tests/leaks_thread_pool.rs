//! 200 cycles of create / use / shut down of thread pools (and of loops' default executors) return
//! open fds and threads to the baseline.
//!
//! One test function on purpose: the harness runs tests of a file in parallel threads, which would
//! make thread counts meaningless.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(target_os = "linux", test, "leaks_thread_pool/cases.rs", "reads /proc (Linux only)");
