//! Process pool: decoding a large result does not hold the driver, so a tiny round trip on another
//! worker completes meanwhile (issue 11, item 8: results were decoded on the driver thread, under
//! the pool's lock).
//!
//! The large result's `Deserialize` (which runs in this process) waits until the tiny task is
//! done: with the decode on the driver, the tiny result could not be read until that wait gave up.

include!("process_pool_large_result_decode/cases.rs");
