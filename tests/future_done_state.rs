//! A `ConcurrentFuture` that is done stays done: `is_done()` reads true while `add_done_callback`
//! runs a callback on it, and `cancel()` on a cancelled future answers true again
//! (concurrent.futures' `done()` and `cancel()`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tulip::{ConcurrentFuture, JobError};

#[test]
fn is_done_stays_true_while_a_late_done_callback_runs() {
    let fut = Arc::new(ConcurrentFuture::ready(Ok(1)));
    assert!(fut.is_done());
    let seen = Arc::new(AtomicBool::new(false));
    let (f, s) = (fut.clone(), seen.clone());
    fut.add_done_callback(move |r| {
        assert_eq!(r, &Ok(1));
        s.store(f.is_done(), Ordering::SeqCst);
    });
    assert!(seen.load(Ordering::SeqCst), "is_done() read false inside a done-callback");
    assert!(fut.is_done());
}

#[test]
fn cancel_on_a_cancelled_future_returns_true_again() {
    let pool = tulip::ThreadPool::builder().max_workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let busy = pool.submit(move || rx.recv().unwrap()).unwrap();
    let queued = pool.submit(|| 1).unwrap();
    assert!(queued.cancel());
    assert!(queued.cancel(), "a cancelled future will not produce a value either");
    assert!(queued.is_done());
    tx.send(()).unwrap();
    assert_eq!(busy.wait(), Ok(()));
    assert!(!ConcurrentFuture::ready(Ok(2)).cancel(), "a future with a value cannot be cancelled");
    assert_eq!(queued.wait(), Err(JobError::Cancelled));
    // Joined here, not left to exit after the test: Miri runs this file and fails on threads alive at exit.
    assert!(pool.shutdown_timeout(Duration::MAX).is_complete());
}
