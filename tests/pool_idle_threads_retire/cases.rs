use std::time::{Duration, Instant};

use tulip::ThreadPool;

#[path = "../support/threads.rs"]
mod threads;
use threads::start_threads;

fn os_threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Polls `cond` for up to 10 s (a liveness bound, not a timing assertion).
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

// One test per file: the thread count of the process must not move because of another test.
#[test]
fn idle_threads_exit_after_keep_alive_and_hot_ones_are_reused() {
    let base = os_threads();
    let pool = ThreadPool::builder().max_workers(4).idle_timeout(Duration::from_millis(300)).build().unwrap();
    assert_eq!(os_threads(), base, "threads start lazily");

    start_threads(&pool, 4);
    assert_eq!(pool.stats().workers, 4);
    assert_eq!(os_threads(), base + 4);

    // LIFO reuse under a trickle of jobs: one every 2 ms. Waking idle workers round-robin would give
    // each of the 4 a job every 8 ms, far under the 300 ms keep-alive, and none would ever retire.
    // Most-recent-first keeps one thread hot and lets the three cold ones time out.
    let mut jobs = 0;
    eventually("the cold threads retire while jobs keep coming", || {
        pool.submit(|| ()).unwrap().wait().unwrap();
        jobs += 1;
        std::thread::sleep(Duration::from_millis(2));
        pool.stats().workers == 1
    });
    assert!(jobs > 10, "the trickle ran for a while ({jobs} jobs)");
    eventually("the retired threads are gone from the process", || os_threads() == base + 1);

    // Nothing to do for longer than keep_alive: every thread exits, for real.
    eventually("the pool has no worker left", || pool.stats().workers == 0);
    eventually("the OS threads are gone", || os_threads() == base);

    // And the pool starts threads again when needed.
    assert_eq!(pool.submit(|| 1).unwrap().wait(), Ok(1));
    assert_eq!(pool.stats().workers, 1);
    pool.shutdown_timeout(std::time::Duration::MAX);
    // Joined, but the kernel lists a thread in /proc until it has finished exiting, a moment after
    // `pthread_join` returns (seen under load): the count is polled, not read once.
    eventually("the last thread is gone after shutdown", || os_threads() == base);
}
