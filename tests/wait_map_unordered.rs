//! `tulip::tasks::map_unordered`: the awaitable, completion-ordered map of both pools; it keeps at
//! most `in_flight` jobs submitted and yields every outcome once.
//!
//! A `harness = false` target: `main` calls `tulip::process::init()` first (workers are this binary).

#[path = "support/process_harness.rs"]
mod harness;

include!("wait_map_unordered/process_pool.rs");

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::StreamExt;
use harness::Case;
use tulip::tasks::map_unordered;
use tulip::{JobError, ThreadPool};

fn thread_pool_in_completion_order() {
    let pool = ThreadPool::builder().max_workers(3).build().unwrap();
    let out: Vec<u64> = tulip::run(async move {
        let jobs = [30u64, 1, 15].map(|ms| {
            move || {
                std::thread::sleep(Duration::from_millis(ms));
                ms
            }
        });
        map_unordered(&pool, jobs, 3).map(Result::unwrap).collect().await
    });
    assert_eq!(out, [1, 15, 30]);
}

fn thread_pool_keeps_in_flight_bounded() {
    let pool = ThreadPool::builder().max_workers(8).build().unwrap();
    let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (n, p) = (now.clone(), peak.clone());
    let count = tulip::run(async move {
        let jobs = (0..40).map(move |_| {
            let (now, peak) = (n.clone(), p.clone());
            move || {
                peak.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
                now.fetch_sub(1, Ordering::SeqCst);
            }
        });
        map_unordered(&pool, jobs, 3).filter(Result::is_ok).count().await
    });
    assert_eq!(count, 40);
    assert!(peak.load(Ordering::SeqCst) <= 3, "peak {}", peak.load(Ordering::SeqCst));
}

fn failures_are_yielded_not_fatal() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let out: Vec<Result<u8, JobError>> = tulip::run(async move {
        let jobs: [Box<dyn FnOnce() -> u8 + Send>; 2] = [Box::new(|| panic!("no")), Box::new(|| 2)];
        map_unordered(&pool, jobs, 1).collect().await
    });
    assert_eq!(out, [Err(JobError::Panicked("no".into())), Ok(2)]);
}

fn main() {
    // First: in a worker (this binary re-executed), `tulip::process::init()` never returns.
    let process_half = process_half();
    let mut cases = vec![
        Case { name: "thread_pool_in_completion_order", run: thread_pool_in_completion_order },
        Case { name: "thread_pool_keeps_in_flight_bounded", run: thread_pool_keeps_in_flight_bounded },
    ];
    cases.extend(process_half);
    cases.push(Case { name: "failures_are_yielded_not_fatal", run: failures_are_yielded_not_fatal });
    harness::run(&cases);
}
