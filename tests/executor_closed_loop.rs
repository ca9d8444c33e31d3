//! `close()` shuts the default executor down (without waiting, as asyncio's `loop.close()`), and
//! `run_in_executor` on a closed loop fails with `LoopClosed` and runs nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tulip::{EventLoop, JobError, SubmitError};

#[test]
fn close_shuts_the_default_executor_down() {
    let lp = EventLoop::new().unwrap();
    let pool = lp.default_executor().unwrap();
    lp.close().unwrap();
    assert!(matches!(pool.submit(|| ()), Err(SubmitError::ShutDown)), "the executor still takes jobs");
    assert!(matches!(lp.default_executor(), Err(SubmitError::ShutDown)));
}

#[test]
fn run_in_executor_on_a_closed_loop_fails_and_runs_nothing() {
    let lp = EventLoop::new().unwrap();
    lp.close().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let fut = lp.run_in_executor(None, move || r.store(true, Ordering::SeqCst));
    assert_eq!(fut.wait(), Err(JobError::LoopClosed));
    assert!(matches!(lp.default_executor(), Err(SubmitError::ShutDown)), "a closed loop created a pool");

    let pool = tulip::ThreadPool::builder().max_workers(1).build().unwrap();
    let r = ran.clone();
    let fut = lp.run_in_executor(Some(&pool), move || r.store(true, Ordering::SeqCst));
    assert_eq!(fut.wait(), Err(JobError::LoopClosed));
    pool.shutdown_timeout(std::time::Duration::MAX);
    assert!(!ran.load(Ordering::SeqCst), "a job ran for a closed loop");
}

#[test]
fn a_default_executor_set_on_a_closed_loop_is_shut_down() {
    let lp = EventLoop::new().unwrap();
    lp.close().unwrap();
    let pool = tulip::ThreadPool::builder().max_workers(1).build().unwrap();
    lp.set_default_executor(pool.clone());
    assert!(matches!(pool.submit(|| ()), Err(SubmitError::ShutDown)));
    assert!(matches!(lp.default_executor(), Err(SubmitError::ShutDown)));
}
