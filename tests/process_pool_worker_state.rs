//! Process pool: `worker_state` makes a state in each worker process on first use and keeps it;
//! `submit_with_state` refuses a type with no factory (`NoState`); a factory that fails fails only
//! that task, and the next task tries again.

include!("process_pool_worker_state/cases.rs");
