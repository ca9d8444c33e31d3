//! Without pidfds (forced here with `TULIP_PIDFD=0`, as on Linux before 5.3 or other systems), a
//! child's end wakes the loop through `SIGCHLD`: many short children, each awaited, are all
//! reaped with their own status while no polling timer is armed; a dropped child is reaped too,
//! and SIGCHLD's disposition is put back once nothing waits for a child; those SIGCHLDs are not
//! reported to a loop's SIGCHLD handler added later.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "subprocess_sigchld_fallback/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
