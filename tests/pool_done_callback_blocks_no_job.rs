//! A done-callback runs on the worker that completed the job; while it runs, other jobs must still
//! reach the pool's other workers (issue 12, item 1: the completing worker held the "spinning" role
//! through the callbacks, so submitters woke nobody and a callback that waited on the pool hung).
//!
//! Both tests fail by a liveness bound (seconds), not by a timing figure: before the fix they wait
//! for a job that only the blocked worker could have started.

use std::sync::mpsc;
use std::time::Duration;

use tulip::ThreadPool;

#[path = "support/threads.rs"]
mod threads;
use threads::start_threads;

/// Far longer than any job here takes; reaching it means the job was never started.
const LIVENESS: Duration = Duration::from_secs(5);

/// A pool whose `n` threads have all run a job and gone idle.
fn pool_with_idle_threads(n: usize) -> ThreadPool {
    let pool = ThreadPool::builder().max_workers(n + 1).build().unwrap();
    start_threads(&pool, n);
    pool
}

#[test]
fn a_job_submitted_while_a_done_callback_runs_completes_before_it_ends() {
    let pool = pool_with_idle_threads(2);
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (other_done_tx, other_done_rx) = mpsc::channel::<()>();
    let (verdict_tx, verdict_rx) = mpsc::channel::<bool>();
    // The job waits until its callback is registered, so the callback runs on the worker.
    let first = pool.submit(move || release_rx.recv().unwrap()).unwrap();
    first.add_done_callback(move |_| {
        started_tx.send(()).unwrap();
        // Blocks until the other job has completed: only another worker can run it.
        verdict_tx.send(other_done_rx.recv_timeout(LIVENESS).is_ok()).unwrap();
    });
    release_tx.send(()).unwrap();
    started_rx.recv_timeout(LIVENESS).expect("the done-callback never started");
    let mut other = pool.submit(|| 7).unwrap();
    let outcome = other.wait_timeout(LIVENESS);
    let _ = other_done_tx.send(());
    assert_eq!(outcome, Some(Ok(7)), "a job submitted during a done-callback was never started");
    assert!(verdict_rx.recv_timeout(LIVENESS).unwrap());
    assert_eq!(first.wait(), Ok(()));
}

#[test]
fn a_done_callback_can_wait_for_another_job_of_the_same_pool() {
    let pool = pool_with_idle_threads(2);
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (verdict_tx, verdict_rx) = mpsc::channel();
    let first = pool.submit(move || release_rx.recv().unwrap()).unwrap();
    let inner_pool = pool.clone();
    first.add_done_callback(move |_| {
        let mut inner = inner_pool.submit(|| 42).unwrap();
        verdict_tx.send(inner.wait_timeout(LIVENESS)).unwrap();
    });
    release_tx.send(()).unwrap();
    let verdict = verdict_rx.recv_timeout(2 * LIVENESS).expect("the done-callback never ended");
    assert_eq!(verdict, Some(Ok(42)), "a job submitted from a done-callback was never started");
    assert_eq!(first.wait(), Ok(()));
}
