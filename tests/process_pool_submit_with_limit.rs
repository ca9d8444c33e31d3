//! Process pool: `submit_with_limit` kills a task that runs past its own limit, counted from its
//! start (not from `submit`), fails it with `TimedOut(limit)`, and counts it in `failed`.

include!("process_pool_submit_with_limit/cases.rs");
