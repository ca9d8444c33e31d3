//! A remote task that prints to stdout does not break its link: the worker's stdout on the other
//! side goes to its stderr (which comes back prefixed with the host), never onto the link that
//! carries the pool's frames.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_task_stdout/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
