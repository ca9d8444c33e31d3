#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::Case;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "a_task_past_its_limit_is_killed", run: a_task_past_its_limit_is_killed },
        Case { name: "time_in_the_queue_is_not_counted", run: time_in_the_queue_is_not_counted },
        Case { name: "the_limit_overrides_task_timeout", run: the_limit_overrides_task_timeout },
    ]);
}

fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn a_task_past_its_limit_is_killed() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let before = pool.submit(pid, ()).unwrap().wait().unwrap();
    let limit = Duration::from_millis(200);
    let r = pool.submit_with_limit(nap, 60_000, limit).unwrap().wait();
    assert_eq!(r, Err(JobError::TimedOut(limit)));
    assert!(r.unwrap_err().to_string().contains("time in the queue not counted"));
    assert_ne!(pool.submit(pid, ()).unwrap().wait().unwrap(), before, "the worker was not replaced");
    let s = pool.stats();
    assert_eq!((s.completed, s.failed, s.worker_deaths), (2, 1, 0));
    // Within its limit, a task is not touched; Duration::MAX is no limit.
    assert_eq!(pool.submit_with_limit(nap, 1, Duration::from_secs(60)).unwrap().wait(), Ok(1));
    assert_eq!(pool.submit_with_limit(nap, 1, Duration::MAX).unwrap().wait(), Ok(1));
}

fn time_in_the_queue_is_not_counted() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let first = pool.submit(nap, 400).unwrap();
    // Waits about 400 ms behind `first`, then runs 10 ms: within its 300 ms limit.
    let second = pool.submit_with_limit(nap, 10, Duration::from_millis(300)).unwrap();
    assert_eq!(first.wait(), Ok(400));
    assert_eq!(second.wait(), Ok(10));
}

fn the_limit_overrides_task_timeout() {
    let pool =
        ProcessPool::builder().max_workers(1).task_timeout(Duration::from_millis(100)).build().unwrap();
    assert_eq!(pool.submit_with_limit(nap, 300, Duration::from_secs(60)).unwrap().wait(), Ok(300));
    let r = pool.submit(nap, 60_000).unwrap().wait();
    assert_eq!(r, Err(JobError::TimedOut(Duration::from_millis(100))));
}
