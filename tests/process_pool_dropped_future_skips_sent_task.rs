//! Process pool: dropping the future of a task that was sent to a worker but has not started (or a
//! `ProcessMap` with such chunks) skips it, as the docs say; before, it ran anyway (issue 11,
//! "dropping a ProcessMap or a future does not skip tasks already sent").

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_dropped_future_skips_sent_task/cases.rs",
    "holds the worker with SIGSTOP (Unix) (README, Platforms)"
);
