//! Subprocesses: `output()` collects 10 MiB on stdout and 10 MiB on stderr from a child that fills
//! one pipe while the other is still empty, in both orders, without the classic deadlock.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "subprocess_output_no_deadlock/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
