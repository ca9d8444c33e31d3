//! Blocking `tulip::wait`: returns as soon as its condition holds, splits done from pending, and
//! cancels nothing.

use std::sync::mpsc;
use std::time::Duration;

use tulip::{wait, ConcurrentFuture, JobError, ReturnWhen, ThreadPool};

fn held(pool: &ThreadPool, value: Result<u8, ()>) -> (ConcurrentFuture<u8>, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    let fut = pool
        .submit(move || {
            let _ = rx.recv();
            value.unwrap_or_else(|()| panic!("failed on purpose"))
        })
        .unwrap();
    (fut, tx)
}

#[test]
fn first_completed_returns_at_the_first_and_leaves_the_rest_pending() {
    let pool = ThreadPool::builder().max_workers(3).build().unwrap();
    let (a, _ta) = held(&pool, Ok(1));
    let (b, tb) = held(&pool, Ok(2));
    tb.send(()).unwrap();
    let c = wait(vec![a, b], ReturnWhen::FirstCompleted, None);
    assert_eq!(c.done.len(), 1);
    assert_eq!(c.pending.len(), 1);
    assert!(!c.pending[0].is_done());
    assert_eq!(c.done.into_iter().next().unwrap().wait(), Ok(2));
}

#[test]
fn first_error_skips_successes_and_cancellations() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    let (slow, _tslow) = held(&pool, Ok(3));
    let (bad, tbad) = held(&pool, Err(()));
    let ok = ConcurrentFuture::ready(Ok(1));
    let cancelled = ConcurrentFuture::ready(Err(JobError::Cancelled));
    tbad.send(()).unwrap();
    let c = wait(vec![ok, slow, cancelled, bad], ReturnWhen::FirstError, None);
    assert_eq!(c.pending.len(), 1, "returned at the error, before the held job");
    let done: Vec<_> = c.done.into_iter().map(|f| f.wait()).collect();
    assert_eq!(done.len(), 3);
    assert!(matches!(done[2], Err(JobError::Panicked(_))), "the error came last: {done:?}");
}

#[test]
fn first_error_without_errors_waits_for_all() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    let futs: Vec<_> = (0..20u8).map(|i| pool.submit(move || i).unwrap()).collect();
    let c = wait(futs, ReturnWhen::FirstError, None);
    assert_eq!((c.done.len(), c.pending.len()), (20, 0));
}

#[test]
fn all_completed_with_a_timeout_returns_what_is_done() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    let (stuck, tstuck) = held(&pool, Ok(1));
    let quick = pool.submit(|| 2).unwrap();
    let c = wait(vec![stuck, quick], ReturnWhen::AllCompleted, Some(Duration::from_millis(20)));
    assert_eq!((c.done.len(), c.pending.len()), (1, 1));
    tstuck.send(()).unwrap();
    assert_eq!(c.pending.into_iter().next().unwrap().wait(), Ok(1));
}
