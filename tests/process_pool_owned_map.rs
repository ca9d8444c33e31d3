//! Process pool: `map` is owned (it holds a clone of the pool, so it outlives the handle it came
//! from), lazy, ordered, and bounded by `in_flight` chunks.

#[cfg(windows)]
fn main() {
    println!("skipped on Windows: the process pool is Unix-only for now (README, Platforms)");
}

#[cfg(unix)]
#[path = "support/process_harness.rs"]
mod harness;

#[cfg(unix)]
use std::time::Duration;

#[cfg(unix)]
use harness::Case;
#[cfg(unix)]
use tulip::{JobError, ProcessPool};

#[cfg(unix)]
fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "a_map_outlives_its_pool_handle", run: a_map_outlives_its_pool_handle },
        Case { name: "in_flight_bounds_what_is_submitted", run: in_flight_bounds_what_is_submitted },
    ]);
}

#[cfg(unix)]
fn double(x: u32) -> u32 {
    2 * x
}

#[cfg(unix)]
fn a_map_outlives_its_pool_handle() {
    let map = {
        let pool = ProcessPool::builder().max_workers(2).build().unwrap();
        pool.map(double, 0..50).chunksize(4)
    };
    let out: Result<Vec<u32>, JobError> = map.collect();
    assert_eq!(out, Ok((0..50).map(|x| 2 * x).collect()));
}

#[cfg(unix)]
fn in_flight_bounds_what_is_submitted() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let mut map = pool.map(double, 0..).in_flight(3);
    assert_eq!(map.next(), Some(Ok(0)));
    // Three chunks went out: the one yielded, and two more, and no further.
    harness::eventually(Duration::from_secs(10), "the window fills", || pool.stats().completed == 3);
    let s = pool.stats();
    assert_eq!((s.completed, s.queued, s.running), (3, 0, 0), "{s:?}");
    drop(map);
}
