//! The graceful-shutdown example (`examples/graceful_shutdown.rs`): SIGTERM sent while 20 requests
//! are in flight loses none of them, the service exits 0, and no pool worker is left behind.
//!
//! The service is this test program run again (`TULIP_TEST_SERVICE` set), with the example's code
//! included, so that process-pool workers re-execute a program that calls `process::init()`.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(unix, main, "graceful_shutdown/cases.rs", "SIGTERM is Unix's (README, Platforms)");
