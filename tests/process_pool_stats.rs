//! Process pool: `stats()` has the one meaning `PoolStats` gives both pools. Every task that ended
//! is counted once: a value in `completed`; a panic, a codec error, a dead worker or a run-time
//! limit in `failed`; a cancel or a shutdown in `cancelled`.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_stats/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
