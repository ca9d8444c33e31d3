//! Subprocesses: a `status()` dropped while its child is being started off the loop thread leaves
//! nothing behind: the child, started but never handed to the loop, is killed (`kill_on_drop`) and
//! reaped, as a dropped `Child` would be.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "subprocess_status_dropped_mid_spawn/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
