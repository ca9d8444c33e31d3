//! A host where launches keep failing after the pool was built is set aside after a few failures
//! in a row: `stats()` counts it, and tasks that can run nowhere fail with `JobError::Spawn` (they
//! never ran: not `WorkerDied`) naming the host, why, and when it is tried again, instead of
//! waiting forever. A command launcher that starts refusing (a flag file)
//! stands in for a host that went down.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_host_set_aside/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
