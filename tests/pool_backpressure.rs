//! A bounded queue pushes back: `submit` blocks, `try_submit` fails with `QueueFull`,
//! `submit_async` waits without blocking; shutdown releases them all.

use std::future::Future;
use std::pin::pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

use tulip::{ConcurrentFuture, SubmitError, ThreadPool};

/// A one-worker pool with queue capacity 1: one job running (blocked) and one queued.
fn full_pool() -> (ThreadPool, mpsc::Sender<()>, ConcurrentFuture<()>, ConcurrentFuture<i32>) {
    let pool = ThreadPool::builder().max_workers(1).queue_capacity(1).build().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let running = pool.submit(move || rx.recv().unwrap()).unwrap();
    while pool.stats().running == 0 {
        std::thread::yield_now();
    }
    let queued = pool.submit(|| 1).unwrap();
    assert_eq!(pool.stats().queued, 1);
    (pool, tx, running, queued)
}

#[test]
fn try_submit_fails_when_full() {
    let (pool, release, running, queued) = full_pool();
    assert!(matches!(pool.try_submit(|| 2), Err(SubmitError::QueueFull)));
    release.send(()).unwrap();
    running.wait().unwrap();
    assert_eq!(queued.wait(), Ok(1));
    assert_eq!(pool.try_submit(|| 3).unwrap().wait(), Ok(3));
}

#[test]
fn submit_blocks_until_there_is_room() {
    let (pool, release, running, queued) = full_pool();
    let (done_tx, done_rx) = mpsc::channel();
    let p = pool.clone();
    let submitter = std::thread::spawn(move || {
        let f = p.submit(|| 2).unwrap();
        done_tx.send(()).unwrap();
        f.wait()
    });
    assert!(done_rx.recv_timeout(Duration::from_millis(50)).is_err(), "submit must block while full");
    release.send(()).unwrap();
    done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(submitter.join().unwrap(), Ok(2));
    running.wait().unwrap();
    assert_eq!(queued.wait(), Ok(1));
}

#[test]
fn submit_async_waits_without_blocking() {
    let (pool, release, running, queued) = full_pool();
    let (wake_tx, wake_rx) = mpsc::channel::<()>();
    let waker = waker_fn(move || {
        let _ = wake_tx.send(());
    });
    let mut cx = Context::from_waker(&waker);
    let mut sub = pin!(pool.submit_async(|| 2));
    assert!(sub.as_mut().poll(&mut cx).is_pending());
    release.send(()).unwrap();
    wake_rx.recv_timeout(Duration::from_secs(10)).expect("room in the queue wakes the submitter");
    let fut = loop {
        match sub.as_mut().poll(&mut cx) {
            Poll::Ready(r) => break r.unwrap(),
            Poll::Pending => wake_rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        }
    };
    assert_eq!(fut.wait(), Ok(2));
    running.wait().unwrap();
    assert_eq!(queued.wait(), Ok(1));
}

#[test]
fn shutdown_releases_blocked_submitters() {
    let (pool, release, running, queued) = full_pool();
    let p = pool.clone();
    let submitter = std::thread::spawn(move || p.submit(|| 2).map(drop));
    // Whether it blocks before or after shutdown, it must come back with ShutDown.
    std::thread::sleep(Duration::from_millis(20));
    pool.shutdown_timeout(Duration::ZERO);
    assert!(matches!(submitter.join().unwrap(), Err(SubmitError::ShutDown)));
    release.send(()).unwrap();
    running.wait().unwrap();
    assert_eq!(queued.wait(), Err(tulip::JobError::ShutDown));
}

#[test]
fn bounded_queue_never_exceeds_its_capacity_under_load() {
    let pool = ThreadPool::builder().max_workers(2).queue_capacity(4).build().unwrap();
    let submitters: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let mut max_seen = 0;
                let futs: Vec<_> = (0..500)
                    .map(|i| {
                        let f = pool.submit(move || i).unwrap();
                        max_seen = max_seen.max(pool.stats().queued);
                        f
                    })
                    .collect();
                assert!(futs.into_iter().enumerate().all(|(i, f)| f.wait() == Ok(i)));
                max_seen
            })
        })
        .collect();
    for s in submitters {
        assert!(s.join().unwrap() <= 4);
    }
}

/// A waker that calls `f`.
fn waker_fn(f: impl Fn() + Send + Sync + 'static) -> std::task::Waker {
    struct W<F>(F);
    impl<F: Fn() + Send + Sync + 'static> std::task::Wake for W<F> {
        fn wake(self: std::sync::Arc<Self>) {
            (self.0)()
        }
    }
    std::task::Waker::from(std::sync::Arc::new(W(f)))
}
