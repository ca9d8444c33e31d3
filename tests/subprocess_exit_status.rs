//! Subprocesses: the exit status tells an exit code from a death by signal; `try_wait` and `kill`
//! behave on a running and on an ended child.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "subprocess_exit_status/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
