//! Process pool: a worker killed for a timeout takes the processes its task started with it (they
//! share the worker's own process group), instead of leaving them running under `init`.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_kill_group/cases.rs",
    "checks a process group with /proc (Unix); process_pool_windows pins the Job object's kill there (README, Platforms)"
);
