//! Process pool: `map` is owned (it holds a clone of the pool, so it outlives the handle it came
//! from), lazy, ordered, and bounded by `in_flight` chunks.

include!("process_pool_owned_map/cases.rs");
