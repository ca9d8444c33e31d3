//! Process pool: tasks can be stopped for real. A task past its timeout, or cancelled while it
//! runs, has its worker killed and replaced; a task cancelled before it starts never runs and its
//! worker is left alone.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_kill/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
