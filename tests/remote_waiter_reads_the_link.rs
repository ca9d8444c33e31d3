//! A thread blocked in `wait` on a task sent straight to a remote worker reads that worker's link
//! itself (one wakeup less per round trip than going through the driver), and that changes nothing
//! a user can see: a wait that times out leaves the result to the driver, heartbeats are still
//! heard during a long task, a task ended elsewhere (its time limit, a shutdown) wakes the waiter,
//! and a done-callback run by the waiter may wait for the next task on the same link.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_waiter_reads_the_link/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
