//! Subprocesses: children spawned with `die_with_parent` die when their parent is SIGKILLed
//! (none left a second later); without it they outlive it (the control case).
//!
//! The parent is this test program run again as an intermediate (`TULIP_TEST_INTERMEDIATE` set):
//! it spawns the children, prints their pids, and waits to be killed.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "subprocess_die_with_parent/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
