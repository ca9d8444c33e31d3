//! Process pool: `initializer` runs in each worker before its first task; when it fails, the pool
//! is broken: the tasks it failed end with `JobError::Initializer`, later submits with
//! `SubmitError::Broken`.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_initializer/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
