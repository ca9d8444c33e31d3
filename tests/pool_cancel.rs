//! Cancelling or dropping the future of a queued job removes it; a running job cannot be killed, is
//! abandoned, and keeps its slot until it ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use tulip::{ConcurrentFuture, JobError, ThreadPool};

/// A one-worker pool whose worker is blocked until the returned sender is used.
fn blocked_pool() -> (ThreadPool, mpsc::Sender<()>, ConcurrentFuture<()>) {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let blocker = pool.submit(move || rx.recv().unwrap()).unwrap();
    while pool.stats().running == 0 {
        std::thread::yield_now();
    }
    (pool, tx, blocker)
}

#[test]
fn cancelled_queued_job_never_runs() {
    let (pool, release, blocker) = blocked_pool();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let queued = pool.submit(move || r.store(true, Ordering::SeqCst)).unwrap();
    assert!(queued.cancel());
    assert!(queued.is_done());
    assert!(queued.cancel(), "cancelled already: it will not produce a value (concurrent.futures: True)");
    release.send(()).unwrap();
    blocker.wait().unwrap();
    // A job behind the cancelled one proves the worker went past it.
    assert_eq!(pool.submit(|| 1).unwrap().wait(), Ok(1));
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(queued.wait(), Err(JobError::Cancelled));
    assert_eq!(pool.stats().cancelled, 1);
}

#[test]
fn dropped_queued_job_never_runs() {
    let (pool, release, blocker) = blocked_pool();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    drop(pool.submit(move || r.store(true, Ordering::SeqCst)).unwrap());
    release.send(()).unwrap();
    blocker.wait().unwrap();
    assert_eq!(pool.submit(|| 1).unwrap().wait(), Ok(1));
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn running_job_cannot_be_cancelled() {
    let (pool, release, blocker) = blocked_pool();
    assert!(!blocker.cancel());
    release.send(()).unwrap();
    assert_eq!(blocker.wait(), Ok(()));
    drop(pool);
}

#[test]
fn abandoned_running_job_keeps_its_slot_until_it_ends() {
    let (pool, release, blocker) = blocked_pool();
    drop(blocker);
    let (done_tx, done_rx) = mpsc::channel();
    // The only worker is still held by the abandoned job: this one waits.
    let next = pool.submit(move || done_tx.send(()).unwrap()).unwrap();
    let s = pool.stats();
    assert_eq!((s.running, s.workers), (1, 1));
    assert!(done_rx.recv_timeout(Duration::from_millis(50)).is_err(), "must wait for the abandoned job");
    release.send(()).unwrap();
    done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(next.wait(), Ok(()));
}

#[test]
fn abandoned_job_failure_is_reported_not_lost() {
    // No loop here: the error goes to the `log` crate; what we check is that the job ran to its end
    // and the pool counted it as panicked.
    let (pool, release, blocker) = blocked_pool();
    drop(blocker);
    let (started_tx, started_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let failing = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            panic!("nobody is listening")
        })
        .unwrap();
    release.send(()).unwrap();
    started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    drop(failing);
    go_tx.send(()).unwrap();
    while pool.stats().failed == 0 {
        std::thread::yield_now();
    }
}

#[test]
fn cancel_racing_with_start_decides_exactly_one_outcome() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    for _ in 0..2_000 {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let fut = pool.submit(move || r.store(true, Ordering::SeqCst)).unwrap();
        let cancelled = fut.cancel();
        let outcome = fut.wait();
        if cancelled {
            assert_eq!(outcome, Err(JobError::Cancelled));
        } else {
            assert_eq!(outcome, Ok(()));
            assert!(ran.load(Ordering::SeqCst));
        }
    }
    pool.shutdown_timeout(std::time::Duration::MAX);
}
