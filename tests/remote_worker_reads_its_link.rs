//! A remote worker reads the pool's frames from its link itself, with no relay in between (see the
//! `nanny` and `link_watch` modules): what its link watcher reads while a long task runs reaches
//! the runner in order, a cancel among it is honoured, and after a worker killed over the link the
//! nanny finds the pool's `Restart` behind frames the dead worker left cut anywhere.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_worker_reads_its_link/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
