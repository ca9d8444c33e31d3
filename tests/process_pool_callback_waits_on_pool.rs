//! Process pool: a done-callback (which runs on the pool's driver thread) that waits on another task
//! of the same pool fails at once with `WouldDeadlock` instead of freezing the pool forever
//! (issue 11, item 4).

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_callback_waits_on_pool/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
