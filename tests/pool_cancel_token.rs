//! `submit_with_token`: a running job sees its token set by `cancel()` or by dropping its future.

use std::sync::mpsc;
use std::time::Duration;

use tulip::{JobError, ThreadPool};

fn wait_until_active(pool: &ThreadPool) {
    while pool.stats().running == 0 {
        std::thread::yield_now();
    }
}

#[test]
fn cancel_of_running_token_job_sets_token_and_reports_cancelled() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (seen_tx, seen_rx) = mpsc::channel();
    let fut = pool
        .submit_with_token(move |tok| {
            while !tok.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            seen_tx.send(()).unwrap();
            "finished anyway"
        })
        .unwrap();
    wait_until_active(&pool);
    assert!(fut.cancel());
    assert!(fut.cancel(), "cancel stays accepted");
    seen_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(fut.wait(), Err(JobError::Cancelled));
}

#[test]
fn token_is_clear_while_the_future_is_wanted() {
    let pool = ThreadPool::builder().build().unwrap();
    assert_eq!(pool.submit_with_token(|tok| tok.is_cancelled()).unwrap().wait(), Ok(false));
}

#[test]
fn dropping_the_future_sets_the_token() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let fut = pool
        .submit_with_token(move |tok| {
            while !tok.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            tx.send("stopped").unwrap();
        })
        .unwrap();
    wait_until_active(&pool);
    drop(fut);
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok("stopped"));
}

#[test]
fn queued_token_job_cancelled_never_runs() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let blocker = pool.submit(move || release_rx.recv().unwrap()).unwrap();
    wait_until_active(&pool);
    let (ran_tx, ran_rx) = mpsc::channel();
    let queued = pool.submit_with_token(move |_| ran_tx.send(()).unwrap()).unwrap();
    assert!(queued.cancel());
    release_tx.send(()).unwrap();
    blocker.wait().unwrap();
    pool.shutdown_timeout(std::time::Duration::MAX);
    assert!(ran_rx.try_recv().is_err());
    assert_eq!(queued.wait(), Err(JobError::Cancelled));
}

#[test]
fn cancel_after_completion_returns_false_and_keeps_the_value() {
    let pool = ThreadPool::builder().build().unwrap();
    let mut fut = pool.submit_with_token(|_| 9).unwrap();
    while !fut.is_done() {
        std::thread::yield_now();
    }
    assert!(!fut.cancel());
    assert_eq!(fut.wait_timeout(Duration::from_secs(10)), Some(Ok(9)));
}

#[test]
fn a_job_that_panics_after_cancel_reports_cancelled() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let fut = pool
        .submit_with_token(|tok| {
            while !tok.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            panic!("stopping badly")
        })
        .unwrap();
    wait_until_active(&pool);
    assert!(fut.cancel());
    // `cancel() == true` means the outcome is Cancelled; the panic is reported to the handler/log.
    assert_eq!(fut.wait(), Err(JobError::Cancelled));
    while pool.stats().failed == 0 {
        std::thread::yield_now();
    }
}
