//! Issue 13's "Done when": the same workload runs on a `ThreadPool` and on a `ProcessPool`, changing
//! only the constructor and the form of the job (a closure on threads, a `fn` and its arguments on
//! processes). Every other line (builder words, submit / try_submit / map / submit_with_state /
//! submit_with_limit, stats, shutdown_timeout, run_in_executor, the errors) is the same.
//!
//! A `harness = false` target: `main` calls `tulip::process::init()` first (workers are this binary).

#[path = "support/process_harness.rs"]
mod harness;

include!("pools_same_api/process_pool.rs");

use std::time::Duration;

use harness::Case;
use tulip::{CancelToken, JobError, PoolStats, SubmitError, ThreadPool};

const LIMIT: Duration = Duration::from_millis(50);

fn square(x: u64) -> u64 {
    x * x
}

/// The per-worker state: how many jobs this worker served.
fn zero() -> Result<u64, String> {
    Ok(0)
}

fn count(served: &mut u64, _: ()) -> u64 {
    *served += 1;
    *served
}

/// A thread job that runs until its token is set (a thread cannot be killed).
fn until_told(token: &CancelToken) {
    while !token.is_cancelled() {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What both workloads must report at the end.
fn check_stats(s: PoolStats) {
    assert_eq!(s.max_workers, 2, "{s:?}");
    // 1 submit + 1 try_submit + 10 mapped + 3 with state + 1 through the loop.
    assert_eq!(s.completed, 16, "{s:?}");
    assert_eq!(s.failed, 1, "the job past its limit: {s:?}");
    assert_eq!((s.queued, s.running, s.cancelled), (0, 0, 0), "{s:?}");
}

fn on_threads() {
    let pool = ThreadPool::builder()
        .max_workers(2)
        .queue_capacity(16)
        .idle_timeout(Duration::from_secs(10))
        .worker_state(zero)
        .build()
        .unwrap();
    assert_eq!(pool.submit(move || square(7)).unwrap().wait(), Ok(49));
    assert_eq!(pool.try_submit(move || square(8)).unwrap().wait(), Ok(64));
    let squares: Result<Vec<u64>, JobError> = pool.map(square, 0..10).in_flight(3).collect();
    assert_eq!(squares.unwrap(), (0..10).map(square).collect::<Vec<_>>());
    for _ in 0..3 {
        let served = pool.submit_with_state(|n: &mut u64| count(n, ())).unwrap().wait();
        assert!(served.unwrap() >= 1);
    }
    let limited = pool.submit_with_limit(until_told, LIMIT).unwrap().wait();
    assert_eq!(limited, Err(JobError::TimedOut(LIMIT)));
    let via_loop = tulip::run({
        let pool = pool.clone();
        async move { tulip::get_running_loop().run_in_executor(Some(&pool), move || square(6)).await }
    });
    assert_eq!(via_loop, Ok(36));
    assert!(pool.shutdown_timeout(Duration::from_secs(30)).is_complete());
    assert_eq!(pool.submit(move || square(1)).unwrap_err(), SubmitError::ShutDown);
    check_stats(pool.stats());
}

fn main() {
    // First: in a worker (this binary re-executed), `tulip::process::init()` never returns.
    let process_half = process_half();
    let mut cases = vec![Case { name: "the_workload_on_a_thread_pool", run: on_threads }];
    cases.extend(process_half);
    harness::run(&cases);
}
