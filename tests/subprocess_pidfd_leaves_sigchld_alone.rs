//! Subprocesses: with pidfds, waiting (also again, on a child already reaped) installs no `SIGCHLD`
//! handler: the program's disposition of `SIGCHLD` stays as it was.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    target_os = "linux",
    test,
    "subprocess_pidfd_leaves_sigchld_alone/cases.rs",
    "pidfds are Linux's (and tulip::subprocess is Unix-only for now: README, Platforms)"
);
