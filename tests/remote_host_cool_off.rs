//! A host set aside is tried again once its cool-off (`Launcher::cool_off`) is over: while it
//! cools, tasks that can run nowhere fail with `JobError::Spawn`; once the host is back up and the
//! cool-off is over, the next task starts a worker there and runs. A command launcher that refuses
//! while a flag file exists stands in for a host that goes down and comes back.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_host_cool_off/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
