//! Blocking `as_completed` over 10,000 thread-pool and 10,000 process-pool futures yields each future
//! exactly once.
//!
//! A `harness = false` target: `main` calls `tulip::process::init()` first (workers are this binary).

#[cfg(windows)]
fn main() {
    println!("skipped on Windows: the process pool is Unix-only for now (README, Platforms)");
}

#[cfg(unix)]
#[path = "support/process_harness.rs"]
mod harness;

#[cfg(unix)]
use harness::Case;
#[cfg(unix)]
use tulip::{as_completed, ConcurrentFuture, ProcessPool, ThreadPool};

#[cfg(unix)]
const N: u64 = 10_000;

#[cfg(unix)]
fn echo(x: u64) -> u64 {
    x
}

/// Every value 0..N came out once, and nothing else.
#[cfg(unix)]
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

#[cfg(unix)]
fn thread_pool() {
    let pool = ThreadPool::builder().max_workers(4).build().unwrap();
    each_once((0..N).map(|i| pool.submit(move || i).unwrap()).collect());
}

#[cfg(unix)]
fn process_pool() {
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    each_once((0..N).map(|i| pool.submit(echo, i).unwrap()).collect());
}

#[cfg(unix)]
fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "as_completed_yields_10000_thread_pool_futures_once_each", run: thread_pool },
        Case { name: "as_completed_yields_10000_process_pool_futures_once_each", run: process_pool },
    ]);
}
