//! Blocking `as_completed` over 10,000 thread-pool and 10,000 process-pool futures yields each future
//! exactly once.
//!
//! A `harness = false` target: `main` calls `tulip::process::init()` first (workers are this binary).

#[path = "support/process_harness.rs"]
mod harness;

include!("wait_as_completed_many/process_pool.rs");

use harness::Case;
use tulip::{as_completed, ConcurrentFuture, ThreadPool};

const N: u64 = 10_000;

/// Every value 0..N came out once, and nothing else.
fn each_once(futs: Vec<ConcurrentFuture<u64>>) {
    let mut seen = vec![false; N as usize];
    let mut count = 0;
    for fut in as_completed(futs, None) {
        let v = fut.expect("no timeout was set").wait().expect("the job ran");
        assert!(!std::mem::replace(&mut seen[v as usize], true), "{v} yielded twice");
        count += 1;
    }
    assert_eq!(count, N);
}

fn thread_pool() {
    let pool = ThreadPool::builder().max_workers(4).build().unwrap();
    each_once((0..N).map(|i| pool.submit(move || i).unwrap()).collect());
}

fn main() {
    // First: in a worker (this binary re-executed), `tulip::process::init()` never returns.
    let process_half = process_half();
    let mut cases =
        vec![Case { name: "as_completed_yields_10000_thread_pool_futures_once_each", run: thread_pool }];
    cases.extend(process_half);
    harness::run(&cases);
}
