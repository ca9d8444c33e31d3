//! Process pool: a worker that reaches `max_tasks_per_child` in the middle of a dispatch round takes
//! no more, and the tasks of that round it cannot take wait for the next worker instead of being
//! lost (every one of many pipelined tasks completes).

include!("process_pool_recycling_under_load/cases.rs");
