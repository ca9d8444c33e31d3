//! Idle threads really exit after `keep_alive` (counted in /proc/self/task), and idle workers are
//! reused most-recent-first.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    target_os = "linux",
    test,
    "pool_idle_threads_retire/cases.rs",
    "counts the process's threads in /proc/self/task (Linux only)"
);
