//! Process pool: arguments too large for a frame are refused while they are being encoded, as soon as
//! they pass `max_frame_size`, not after the whole value was built in memory.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_oversize_refused_early/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
