//! A remote worker writes its frames straight onto its nanny's link (no relay hop per result), and
//! large results (many pipe buffers each) come back whole over it while the nanny sends its own
//! frames (heartbeats) onto the same link. (That a heartbeat never lands inside a frame is pinned
//! by the unit tests of `process_pool::nanny`: it can be made to happen every time there.)

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_frames_share_the_link/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
