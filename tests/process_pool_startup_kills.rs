//! Process pool: a worker killed (`SIGKILL`, from outside) during its handshake is bad luck, not a
//! program that cannot start workers. It is replaced; `build` does not fail and queued tasks are not
//! failed with "no worker process could be started".
//!
//! To make "during its handshake" certain rather than likely, every process of this test program
//! started after the variable below is set sleeps before `main` (an `.init_array` constructor), so
//! each new worker spends a long moment before it can answer, and the killer finds it there.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_startup_kills/cases.rs",
    "kills new workers with SIGKILL (Unix) (README, Platforms)"
);
