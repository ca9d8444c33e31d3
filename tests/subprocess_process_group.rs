//! Subprocesses: a child in its own process group is killed with everything it started
//! (`kill_process_group`); a plain `kill` reaches only the child (the control case).

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "subprocess_process_group/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
