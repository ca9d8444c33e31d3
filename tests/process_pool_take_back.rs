//! Process pool: tasks already sent behind a task that turns out long are taken back from its
//! worker and run by another one (issue 11, item 9: with pipelining up to 512 deep, half of 600
//! tiny tasks waited behind one long task while the other worker idled), and a task whose take-back
//! races its start runs exactly once.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_take_back/cases.rs",
    "Windows workers have no status page, so no take-back (see the process module's Windows section)"
);
