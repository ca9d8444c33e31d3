//! A task sent to a remote worker that had already died (the pool had not heard yet) never
//! started, and is re-sent instead of failing: the nanny reports how many tasks its worker started
//! (from the worker's status page) in its `Gone` frame. The nanny is held stopped while the worker
//! dies, so the task surely goes to the dead worker.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_unstarted_task_resent/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
