//! Process pool: workers are recycled after `max_tasks_per_child`, pruned after `idle_timeout`
//! (down to `min_workers`), and shut down gracefully, forcefully, or by drop, leaving no zombie.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_lifecycle/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
