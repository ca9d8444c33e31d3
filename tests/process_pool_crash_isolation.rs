//! Process pool: a worker that dies (abort, exit, segfault, SIGKILL from outside) or sends a bad
//! frame fails only the task it was running; the pool replaces it and the other tasks complete.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_crash_isolation/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
