//! Process pool: a queued task that is cancelled or whose future is dropped leaves the queue at
//! once, is counted in `stats().cancelled`, and never holds up the tasks after it (issue 11, item 1).

include!("process_pool_cancelled_queued_tasks/cases.rs");
