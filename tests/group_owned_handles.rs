//! No task or job is left running after a `TaskGroup` ends: a `Task` handed in through
//! `tasks::owned` is cancelled with its siblings (without `owned` it would be detached and run on), and
//! so is a process-pool job handed in through `owned`: its worker is stopped even when the job has
//! started (a plain dropped future only skips a job that has not started, and lets a running one finish).
//!
//! A `harness = false` target: `main` calls `tulip::process::init()` first (workers are this binary).

include!("group_owned_handles/cases.rs");
