//! Blocking `tulip::as_completed`: yields in completion order, each future once, and honours its
//! timeout (then hands back the futures it did not yield).

use std::sync::mpsc;
use std::time::Duration;

use tulip::{as_completed, ConcurrentFuture, ThreadPool};

/// Three jobs, each held until its sender speaks; returns the futures and the senders.
fn held_jobs(pool: &ThreadPool) -> (Vec<ConcurrentFuture<usize>>, Vec<mpsc::Sender<()>>) {
    (0..3)
        .map(|i| {
            let (tx, rx) = mpsc::channel::<()>();
            (pool.submit(move || rx.recv().map(|_| i).unwrap_or(usize::MAX)).unwrap(), tx)
        })
        .unzip()
}

#[test]
fn yields_in_completion_order() {
    let pool = ThreadPool::builder().max_workers(3).build().unwrap();
    let (futs, senders) = held_jobs(&pool);
    let mut it = as_completed(futs, None);
    for i in [2, 0, 1] {
        senders[i].send(()).unwrap();
        assert_eq!(it.next().unwrap().unwrap().wait(), Ok(i));
    }
    assert!(it.next().is_none());
}

#[test]
fn futures_already_done_come_first() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let held = pool.submit(move || rx.recv().is_ok()).unwrap();
    let futs = vec![held, ConcurrentFuture::ready(Ok(false))];
    let mut it = as_completed(futs, None);
    assert_eq!(it.next().unwrap().unwrap().wait(), Ok(false));
    tx.send(()).unwrap();
    assert_eq!(it.next().unwrap().unwrap().wait(), Ok(true));
}

#[test]
fn timeout_yields_elapsed_once_and_keeps_the_rest_pending() {
    let pool = ThreadPool::builder().max_workers(3).build().unwrap();
    let (futs, senders) = held_jobs(&pool);
    let mut it = as_completed(futs, Some(Duration::from_millis(20)));
    senders[1].send(()).unwrap();
    assert_eq!(it.next().unwrap().unwrap().wait(), Ok(1));
    assert_eq!(it.next().map(|r| r.err()), Some(Some(tulip::Elapsed)));
    assert!(it.next().is_none(), "the iterator ends after its timeout");
    let pending = it.into_pending();
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|f| !f.is_done()), "nothing is cancelled at the timeout");
    senders[0].send(()).unwrap();
    senders[2].send(()).unwrap();
    let results: Vec<_> = pending.into_iter().map(|f| f.wait()).collect();
    assert_eq!(results, [Ok(0), Ok(2)]);
}

#[test]
fn errors_and_cancellations_are_yielded_too() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let held = pool.submit(move || rx.recv().is_ok()).unwrap();
    let queued = pool.submit(|| true).unwrap();
    let panics = pool.submit(|| -> bool { panic!("boom") }).unwrap();
    assert!(queued.cancel());
    let mut it = as_completed(vec![held, queued, panics], None);
    assert_eq!(it.next().unwrap().unwrap().wait(), Err(tulip::JobError::Cancelled));
    tx.send(()).unwrap();
    assert_eq!(it.next().unwrap().unwrap().wait(), Ok(true));
    assert!(matches!(it.next().unwrap().unwrap().wait(), Err(tulip::JobError::Panicked(_))));
    assert_eq!(it.remaining(), 0);
}
