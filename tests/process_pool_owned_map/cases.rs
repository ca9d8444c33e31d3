#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::Case;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "a_map_outlives_its_pool_handle", run: a_map_outlives_its_pool_handle },
        Case { name: "in_flight_bounds_what_is_submitted", run: in_flight_bounds_what_is_submitted },
    ]);
}

fn double(x: u32) -> u32 {
    2 * x
}

fn a_map_outlives_its_pool_handle() {
    let map = {
        let pool = ProcessPool::builder().max_workers(2).build().unwrap();
        pool.map(double, 0..50).chunksize(4)
    };
    let out: Result<Vec<u32>, JobError> = map.collect();
    assert_eq!(out, Ok((0..50).map(|x| 2 * x).collect()));
}

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
