//! Process pool: `Duration::MAX` means "never" in `idle_timeout`, `task_timeout` and
//! `shutdown_timeout`, as in the thread pool's `keep_alive`; it used to panic the driver (the pool
//! then shut down silently) or the caller (issue 11, item 5).

include!("process_pool_duration_max/cases.rs");
