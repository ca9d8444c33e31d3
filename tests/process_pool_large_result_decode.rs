//! Process pool: decoding a large result does not hold the driver, so a tiny round trip on another
//! worker completes meanwhile (issue 11, item 8: results were decoded on the driver thread, under
//! the pool's lock).
//!
//! The large result's `Deserialize` (which runs in this process) waits until the tiny task is
//! done: with the decode on the driver, the tiny result could not be read until that wait gave up.

#[cfg(windows)]
fn main() {
    println!("skipped on Windows: the process pool is Unix-only for now (README, Platforms)");
}

#[cfg(unix)]
#[path = "support/process_harness.rs"]
mod harness;
#[cfg(unix)]
#[path = "support/pp_tasks.rs"]
mod tasks;

#[cfg(unix)]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(unix)]
use std::time::{Duration, Instant};

#[cfg(unix)]
use harness::Case;
#[cfg(unix)]
use serde::{Deserialize, Deserializer, Serialize};
#[cfg(unix)]
use tasks::one;
#[cfg(unix)]
use tulip::ProcessPool;

/// How long the large result's decode waits for the tiny task at most (a liveness bound).
#[cfg(unix)]
const GATE: Duration = Duration::from_secs(10);

/// Set once the tiny task is done.
#[cfg(unix)]
static TINY_DONE: AtomicBool = AtomicBool::new(false);
/// Set when the large result's decode begins.
#[cfg(unix)]
static DECODING: AtomicBool = AtomicBool::new(false);

/// 8 MiB that decode only once the tiny task is done (or `GATE` passed).
#[cfg(unix)]
#[derive(Serialize)]
struct Gated(Vec<u8>);

#[cfg(unix)]
impl<'de> Deserialize<'de> for Gated {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = Vec::<u8>::deserialize(d)?;
        DECODING.store(true, Ordering::Release);
        let t = Instant::now();
        while !TINY_DONE.load(Ordering::Acquire) && t.elapsed() < GATE {
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(Gated(bytes))
    }
}

#[cfg(unix)]
fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_tiny_round_trip_is_not_held_up_by_a_large_decode",
        run: a_tiny_round_trip_is_not_held_up_by_a_large_decode,
    }]);
}

#[cfg(unix)]
fn big(n: usize) -> Gated {
    Gated(vec![7; n])
}

#[cfg(unix)]
fn a_tiny_round_trip_is_not_held_up_by_a_large_decode() {
    let pool = ProcessPool::builder().max_workers(2).min_workers(2).build().unwrap();
    let large = pool.submit(big, 8 << 20).unwrap();
    harness::eventually(GATE, "the large result is decoded", || DECODING.load(Ordering::Acquire));
    let mut tiny = pool.submit(one, 1).unwrap();
    let got = tiny.wait_timeout(GATE / 2);
    TINY_DONE.store(true, Ordering::Release);
    assert_eq!(got, Some(Ok(2)), "the tiny task waited for the large decode");
    assert_eq!(large.wait().map(|g| g.0.len()), Ok(8 << 20));
}
