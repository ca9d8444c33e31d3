//! Subprocesses: a child dropped unwaited is reaped in the background (no zombie after a second),
//! and with `kill_on_drop` it is killed first.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "subprocess_dropped_child_reaped/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
