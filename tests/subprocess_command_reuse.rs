//! Subprocesses: a `Command` spawns again with the same settings, pipes included (as std's does).

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "subprocess_command_reuse/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
