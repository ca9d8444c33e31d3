//! Process pool: results come back, from blocking code and from async runtimes; panics and codec
//! failures stay with their task; `map`; 10,000 tasks at once.
//!
//! A `harness = false` target: workers are this test binary started again, and `main` must call
//! `tulip::process::init()` before anything else.

include!("process_pool_results/cases.rs");
