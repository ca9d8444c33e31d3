#[path = "../support/process_harness.rs"]
mod harness;
#[path = "../support/pp_tasks.rs"]
mod tasks;

use std::time::Duration;

use harness::{eventually, Case};
use tasks::{mark_then_nap, marker, one};
use tulip::{JobError, ProcessPool};

const LIVE: Duration = Duration::from_secs(10);

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "tiny_tasks_do_not_queue_behind_a_long_one",
        run: tiny_tasks_do_not_queue_behind_a_long_one,
    }]);
}

fn tiny_tasks_do_not_queue_behind_a_long_one() {
    let pool = ProcessPool::builder().max_workers(2).min_workers(2).build().unwrap();
    // Tiny tasks measured: the pool pipelines deeply.
    let warm: Vec<_> = (0..2000).map(|i| pool.submit(one, i).unwrap()).collect();
    for f in warm {
        f.wait().unwrap();
    }
    let started = marker("hol");
    let long = pool.submit(mark_then_nap, (started.clone(), 60_000)).unwrap();
    eventually(LIVE, "the long task starts", || started.exists());
    // Past the pipelining budget (a few milliseconds of work): it is known to be long now.
    std::thread::sleep(Duration::from_millis(20));
    let tiny: Vec<_> = (0..600).map(|i| pool.submit(one, i).unwrap()).collect();
    for (i, mut f) in tiny.into_iter().enumerate() {
        assert_eq!(f.wait_timeout(LIVE), Some(Ok(i as u32 + 1)), "tiny task {i} waited behind the long one");
    }
    assert!(!long.is_done());
    assert!(long.cancel());
    assert_eq!(long.wait(), Err(JobError::Cancelled));
    let _ = std::fs::remove_file(started);
}
