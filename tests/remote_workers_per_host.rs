//! `Launcher::workers_per_host(n)`: one launcher entry holds at most `n` workers at once, however
//! many the pool's `max_workers` allows and however many tasks wait.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_workers_per_host/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
