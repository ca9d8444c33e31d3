//! Process pool: `map` is owned (it holds a clone of the pool, so it outlives the handle it came
//! from), lazy, ordered, and bounded by `in_flight` chunks.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_owned_map/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
