//! Subprocesses: 100 children run at once from one loop, each with its stdin written and its
//! stdout read through the loop, and each reports its own pid and echoes its own input.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "subprocess_fan_out/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
