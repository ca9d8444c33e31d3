//! Chaos: 10,000 process-pool tasks while another thread `SIGKILL`s a random worker every few
//! milliseconds. Every task ends exactly once, with its value or `WorkerDied`; none is lost, none runs
//! twice (each task appends its id to a side file with `O_APPEND` before it returns, so a second run
//! would show); the pool's counters agree with what the tasks saw, and the pool is back at full size
//! afterwards and serves again.
//!
//! In the first case the victims are workers that have run a task (their pid is in the side file),
//! so every kill hits a worker in service, usually in the middle of a task. In the second the killer
//! picks among all live workers, including replacements still in their handshake: those deaths fail
//! no task, and do not make the pool give up on starting workers (it once failed every queued task
//! after three of them in a row).

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "chaos_process_pool/cases.rs",
    "kills workers with SIGKILL and sets file modes (Unix); process_pool_windows covers killed workers there (README, Platforms)"
);
