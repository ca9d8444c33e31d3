//! `tulip::run` ends by shutting the default executor down: running jobs finish, threads exit.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    target_os = "linux",
    test,
    "executor_run_shutdown/cases.rs",
    "counts the process's threads in /proc/self/task (Linux only)"
);
