//! Subprocesses: the child's environment is the parent's with the changes asked for (`env`,
//! `env_remove`, `env_clear`), and its `SIGPIPE` is at the default, whichever way it is spawned.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "subprocess_environment/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
