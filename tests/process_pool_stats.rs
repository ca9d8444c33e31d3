//! Process pool: `stats()` has the one meaning `PoolStats` gives both pools. Every task that ended
//! is counted once: a value in `completed`; a panic, a codec error, a dead worker or a run-time
//! limit in `failed`; a cancel or a shutdown in `cancelled`.

include!("process_pool_stats/cases.rs");
