//! Process pool: a worker killed for a timeout takes the processes its task started with it (they
//! share the worker's own process group), instead of leaving them running under `init`.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_kill_group/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
