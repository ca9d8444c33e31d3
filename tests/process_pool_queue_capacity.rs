//! Process pool: a bounded queue (`queue_capacity`). `try_submit` refuses with `QueueFull`,
//! `submit` blocks until there is room, `submit_async` waits without blocking its thread, and a
//! shutdown releases whoever waits with `ShutDown`.

include!("process_pool_queue_capacity/cases.rs");
