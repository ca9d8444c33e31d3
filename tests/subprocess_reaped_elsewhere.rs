//! Subprocesses: a child that other code reaps (here the kernel, with `SIGCHLD` set to `SIG_IGN`)
//! makes `wait` fail with a clear error instead of hanging or reporting a made-up status.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "subprocess_reaped_elsewhere/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
