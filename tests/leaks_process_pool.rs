//! 200 cycles of create / use / shut down of process pools return open fds, threads, child
//! processes and zombies to the baseline: every worker is reaped, every pipe closed, the driver and
//! spawner threads gone, whichever way the pool ends (graceful shutdown, shutdown with a deadline,
//! drop) and whatever its workers did (returned, panicked, crashed).

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "leaks_process_pool/cases.rs",
    "counts open descriptors and zombies (Unix), and its 200 pool cycles take 40 s under Wine (README, Platforms)"
);
