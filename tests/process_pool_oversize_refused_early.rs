//! Process pool: arguments too large for a frame are refused while they are being encoded, as soon as
//! they pass `max_frame_size`, not after the whole value was built in memory.

include!("process_pool_oversize_refused_early/cases.rs");
