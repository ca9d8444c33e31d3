//! Subprocesses: a program that cannot be started is refused at spawn with a typed error saying why:
//! missing, a directory, not executable, a NUL byte, a bad working directory, no running loop.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "subprocess_spawn_errors/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
