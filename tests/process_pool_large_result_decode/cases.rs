#[path = "../support/process_harness.rs"]
mod harness;
#[path = "../support/pp_tasks.rs"]
mod tasks;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use harness::Case;
use serde::{Deserialize, Deserializer, Serialize};
use tasks::one;
use tulip::ProcessPool;

/// How long the large result's decode waits for the tiny task at most (a liveness bound).
const GATE: Duration = Duration::from_secs(10);

/// Set once the tiny task is done.
static TINY_DONE: AtomicBool = AtomicBool::new(false);
/// Set when the large result's decode begins.
static DECODING: AtomicBool = AtomicBool::new(false);

/// 8 MiB that decode only once the tiny task is done (or `GATE` passed).
#[derive(Serialize)]
struct Gated(Vec<u8>);

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

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_tiny_round_trip_is_not_held_up_by_a_large_decode",
        run: a_tiny_round_trip_is_not_held_up_by_a_large_decode,
    }]);
}

fn big(n: usize) -> Gated {
    Gated(vec![7; n])
}

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
