//! A remote host that hangs with its link open (here: its nanny stopped with `SIGSTOP`) is found
//! by the missing heartbeats within three intervals: the running task fails with `WorkerDied`
//! naming the host and the silence, and the pool starts another worker.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_heartbeat/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
