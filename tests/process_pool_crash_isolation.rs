//! Process pool: a worker that dies (abort, exit, segfault, SIGKILL from outside) or sends a bad
//! frame fails only the task it was running; the pool replaces it and the other tasks complete.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_crash_isolation/cases.rs",
    "crashes, stops and kills workers with signals and fork (Unix); process_pool_windows covers a dead worker there (README, Platforms)"
);
