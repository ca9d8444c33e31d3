//! A remote task's timeout is carried out by the nanny on a `Kill` frame over the existing link:
//! the worker is killed there, a fresh one starts on the same link, the pool serves the next task,
//! and no second launch (no new ssh connection) happens. The launcher is a command that counts
//! its launches.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_kill_over_link/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
