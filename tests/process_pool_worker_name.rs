//! Process pool: workers show under the program's own name in `ps` and `top` (their `comm`), not
//! as `exe`, the name of the `/proc/self/exe` link they are started from.

include!("process_pool_worker_name/cases.rs");
