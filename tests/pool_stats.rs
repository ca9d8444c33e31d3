//! `stats()` reports workers, idle, running, queued, completed, failed, cancelled and queue waits.

use std::sync::mpsc;
use std::time::Duration;

use tulip::ThreadPool;

#[path = "support/snapshot_watch.rs"]
mod snapshot_watch;
use snapshot_watch::SnapshotWatch;

#[test]
fn stats_follow_the_jobs() {
    let pool = ThreadPool::builder().max_workers(2).idle_timeout(Duration::from_secs(3600)).build().unwrap();
    let s = pool.stats();
    assert_eq!((s.max_workers, s.workers, s.idle, s.running, s.queued, s.completed), (2, 0, 0, 0, 0, 0));

    let (tx1, rx1) = mpsc::channel::<()>();
    let (tx2, rx2) = mpsc::channel::<()>();
    let a = pool.submit(move || rx1.recv().unwrap()).unwrap();
    let b = pool.submit(move || rx2.recv().unwrap()).unwrap();
    while pool.stats().running < 2 {
        std::thread::yield_now();
    }
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move || i).unwrap()).collect();
    let s = pool.stats();
    assert_eq!((s.workers, s.running, s.queued, s.idle), (2, 2, 3, 0));

    std::thread::sleep(Duration::from_millis(20));
    tx1.send(()).unwrap();
    tx2.send(()).unwrap();
    a.wait().unwrap();
    b.wait().unwrap();
    for q in queued {
        q.wait().unwrap();
    }
    pool.submit(|| panic!("counted")).unwrap().wait().unwrap_err();
    drop(pool.submit(|| ()).unwrap().wait());

    // Workers go idle after their last job; give them a moment (liveness bound only).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pool.stats().idle < 2 && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    let s = pool.stats();
    assert_eq!((s.workers, s.idle, s.running, s.queued), (2, 2, 0, 0));
    assert_eq!((s.completed, s.failed, s.cancelled), (6, 1, 0));
    assert_eq!(s.workers_started, 2);
    assert_eq!(s.worker_deaths, 0);
    assert!(s.queue_wait_max >= Duration::from_millis(20), "the queued jobs waited at least 20 ms");
    assert!(s.queue_wait_total >= s.queue_wait_max);
}

#[test]
fn cancelled_jobs_are_counted() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let a = pool.submit(move || rx.recv().unwrap()).unwrap();
    while pool.stats().running == 0 {
        std::thread::yield_now();
    }
    let c = pool.submit(|| ()).unwrap();
    c.cancel();
    drop(pool.submit(|| ()).unwrap());
    tx.send(()).unwrap();
    a.wait().unwrap();
    pool.shutdown_timeout(std::time::Duration::MAX);
    let s = pool.stats();
    assert_eq!((s.completed, s.cancelled, s.queued), (1, 2, 0));
}

#[test]
fn a_running_job_cancelled_through_its_token_is_counted_cancelled() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let fut = pool
        .submit_with_token(|token| {
            while !token.is_cancelled() {
                std::thread::yield_now();
            }
        })
        .unwrap();
    while pool.stats().running == 0 {
        std::thread::yield_now();
    }
    assert!(fut.cancel());
    assert_eq!(fut.wait(), Err(tulip::JobError::Cancelled));
    pool.shutdown_timeout(Duration::MAX);
    let s = pool.stats();
    assert_eq!((s.completed, s.failed, s.cancelled), (0, 0, 1), "{s:?}");
}

/// A job is queued, running, or ended, never two of them in one snapshot (the process pool's
/// `stats()` was found pairing counters and gauges of different moments; this pins the thread pool).
#[test]
fn a_snapshot_never_counts_a_job_twice() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    let watch = {
        let pool = pool.clone();
        SnapshotWatch::never_twice(move || pool.stats())
    };
    for i in 0..20_000u64 {
        watch.submitting();
        let job = pool.submit(move || i + 1).unwrap();
        watch.submitted();
        assert_eq!(job.wait(), Ok(i + 1));
    }
    watch.finish();
}
