//! Process pool: once a worker sent a frame the pool cannot accept (here a well-formed frame of an
//! unknown kind), nothing it sent after is trusted: a forged result behind it does not settle a task.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_unknown_frame/cases.rs",
    "writes to a worker's input by descriptor number (Unix) (README, Platforms)"
);
