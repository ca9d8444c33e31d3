//! Process pool: a result whose `Drop` panics in the worker is a panic of its task, reported as
//! `Panicked`; it does not kill the worker, and in `map` it fails only its own item. So is a panic
//! whose payload panics again when dropped.

include!("process_pool_panicking_drop/cases.rs");
