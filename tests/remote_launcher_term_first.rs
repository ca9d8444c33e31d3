//! A remote worker's launcher is ended with `SIGTERM` first (`srun` cancels its job step on it;
//! killed outright it can leave the step and its nanny running), and `SIGKILL` only if it stays.
//! A command launcher whose shell records the `SIGTERM` stands in for `srun`; a shutdown deadline
//! with a task still running is what ends it.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_launcher_term_first/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
