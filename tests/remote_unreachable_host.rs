//! A pool over two ssh hosts, one of which nobody answers on (a port nobody listens to), starts
//! on the other instead of failing `build` at the upload, and reports the host set aside in its
//! stats. Skips with a notice where sshd is not installed.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_unreachable_host/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
