//! A remote link is taken for silent only when the pool could have heard it: heartbeats that sat
//! unread while the driver was held up (here by a done-callback that runs four times the silence
//! limit) count as heard, so the worker and the task it runs meanwhile live on. The silence check
//! reads the link before it ends it.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_slow_round_is_not_silence/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
