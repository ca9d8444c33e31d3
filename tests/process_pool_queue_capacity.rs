//! Process pool: a bounded queue (`queue_capacity`). `try_submit` refuses with `QueueFull`,
//! `submit` blocks until there is room, `submit_async` waits without blocking its thread, and a
//! shutdown releases whoever waits with `ShutDown`.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_queue_capacity/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
