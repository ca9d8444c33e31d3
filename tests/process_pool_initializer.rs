//! Process pool: `initializer` runs in each worker before its first task; when it fails, the pool
//! is broken: the tasks it failed end with `JobError::Initializer`, later submits with
//! `SubmitError::Broken`.

include!("process_pool_initializer/cases.rs");
