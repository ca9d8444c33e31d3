//! With the `tracing` feature, a process-pool task runs in a child of the submitter's span, and the
//! events it emits in the worker reach the parent's subscriber inside the submitter's span.
//! Run with `cargo test --features tracing --test tracing_process_tasks`.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "tracing_process_tasks/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
