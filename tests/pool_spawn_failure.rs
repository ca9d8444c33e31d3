//! A thread pool that cannot start a thread fails its jobs with `JobError::Spawn`, carrying the
//! operating system's error, on every path (issue 12, item 13: they read `WorkerDied`, a process-pool
//! word, or `Cancelled`).
//!
//! The failure is provoked with a stack larger than the address space, which `pthread_create` refuses.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(all(unix, target_pointer_width = "64"), test, "pool_spawn_failure/cases.rs", "provokes the failure with a stack larger than a 64-bit address space, which pthread_create refuses (64-bit Unix only)");
