//! Process pool: workers are recycled after `max_tasks_per_child`, pruned after `idle_timeout`
//! (down to `min_workers`), and shut down gracefully, forcefully, or by drop, leaving no zombie.

include!("process_pool_lifecycle/cases.rs");
