//! Process pool: workers are reaped correctly even when something else in the program reaps
//! children (`SIGCHLD` set to `SIG_IGN`, or a thread calling `waitpid(-1)` in a loop). Workers the
//! pool retires (`max_tasks_per_child`, `idle_timeout`) are not counted as deaths, tasks still get
//! their values, and the pool never signals a pid it has not shown to be its own child.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_foreign_reaper/cases.rs",
    "reaps the pool's workers with waitpid (Unix) (README, Platforms)"
);
