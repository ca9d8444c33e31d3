//! Process pool: a worker that reaches `max_tasks_per_child` in the middle of a dispatch round takes
//! no more, and the tasks of that round it cannot take wait for the next worker instead of being
//! lost (every one of many pipelined tasks completes).

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_recycling_under_load/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
