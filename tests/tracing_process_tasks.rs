//! With the `tracing` feature, a process-pool task runs in a child of the submitter's span, and the
//! events it emits in the worker reach the parent's subscriber inside the submitter's span.
//! Run with `cargo test --features tracing --test tracing_process_tasks`.

include!("tracing_process_tasks/cases.rs");
