//! Shutdown modes: wait or not, cancel the queue or not, bounded wait; submit after shutdown fails;
//! dropping a pool never blocks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tulip::{ConcurrentFuture, JobError, SubmitError, ThreadPool};

fn block_worker(pool: &ThreadPool) -> (mpsc::Sender<()>, ConcurrentFuture<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    let before = pool.stats().running;
    let fut = pool.submit(move || rx.recv().unwrap()).unwrap();
    while pool.stats().running == before {
        std::thread::yield_now();
    }
    (tx, fut)
}

#[test]
fn submit_after_shutdown_fails() {
    let pool = ThreadPool::builder().build().unwrap();
    pool.shutdown();
    assert!(matches!(pool.submit(|| 1), Err(SubmitError::ShutDown)));
    assert!(matches!(pool.try_submit(|| 1), Err(SubmitError::ShutDown)));
    assert!(matches!(pool.submit_with_token(|_| 1), Err(SubmitError::ShutDown)));
    let r = futures_lite::future::block_on(pool.submit_async(|| 1));
    assert!(matches!(r, Err(SubmitError::ShutDown)));
    assert!(pool.is_shut_down());
}

#[test]
fn shutdown_wait_runs_the_queue_then_returns_with_no_thread_left() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let futs: Vec<_> = (0..50)
        .map(|_| {
            let ran = ran.clone();
            pool.submit(move || {
                std::thread::sleep(Duration::from_micros(200));
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
        })
        .collect();
    pool.shutdown_timeout(std::time::Duration::MAX);
    assert_eq!(ran.load(Ordering::SeqCst), 50, "queued jobs still run");
    assert_eq!(pool.stats().workers, 0);
    assert!(futs.into_iter().all(|f| f.is_done()));
}

#[test]
fn shutdown_without_wait_returns_at_once_and_jobs_finish() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (release, running) = block_worker(&pool);
    let queued = pool.submit(|| 2).unwrap();
    pool.shutdown();
    assert!(!running.is_done());
    release.send(()).unwrap();
    assert_eq!(running.wait(), Ok(()));
    assert_eq!(queued.wait(), Ok(2));
}

#[test]
fn cancel_pending_fails_queued_jobs_with_shutdown() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (release, running) = block_worker(&pool);
    let queued: Vec<_> = (0..10).map(|i| pool.submit(move || i).unwrap()).collect();
    pool.shutdown_timeout(Duration::ZERO);
    for q in queued {
        assert_eq!(q.wait(), Err(JobError::ShutDown));
    }
    release.send(()).unwrap();
    assert_eq!(running.wait(), Ok(()), "the running job is not interrupted");
    pool.shutdown_timeout(std::time::Duration::MAX);
    assert_eq!(pool.stats().workers, 0);
    assert_eq!(pool.stats().cancelled, 10);
}

#[test]
fn shutdown_timeout_reports_jobs_still_running() {
    let pool = ThreadPool::builder().max_workers(3).build().unwrap();
    let (r1, f1) = block_worker(&pool);
    let (r2, f2) = block_worker(&pool);
    let quick = pool.submit(|| 3).unwrap();
    assert_eq!(quick.wait(), Ok(3));
    let t = Instant::now();
    let report = pool.shutdown_timeout(Duration::from_millis(50));
    assert_eq!((report.cancelled, report.still_running), (0, 2));
    assert!(t.elapsed() < Duration::from_secs(10));
    r1.send(()).unwrap();
    assert_eq!(f1.wait(), Ok(()));
    assert_eq!(pool.shutdown_timeout(Duration::from_millis(20)).still_running, 1);
    r2.send(()).unwrap();
    assert_eq!(f2.wait(), Ok(()));
    assert!(pool.shutdown_timeout(Duration::from_secs(10)).is_complete());
    assert_eq!(pool.stats().workers, 0);
}

#[test]
fn dropping_a_pool_with_a_stuck_job_does_not_block() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (release, running) = block_worker(&pool);
    let queued = pool.submit(|| "still runs").unwrap();
    drop(pool); // would hang here if drop joined the worker
    release.send(()).unwrap();
    assert_eq!(running.wait(), Ok(()));
    assert_eq!(queued.wait(), Ok("still runs"));
}

#[test]
fn shutdown_wait_from_inside_a_job_waits_for_the_others_only() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    let (release, other) = block_worker(&pool);
    let inner = pool.clone();
    let (started_tx, started_rx) = mpsc::channel();
    let closer = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            inner.shutdown_timeout(std::time::Duration::MAX);
            inner.stats().workers
        })
        .unwrap();
    started_rx.recv().unwrap();
    release.send(()).unwrap();
    assert_eq!(other.wait(), Ok(()));
    assert_eq!(closer.wait(), Ok(1), "only the closing job's own worker is left");
}

#[test]
fn idle_workers_exit_promptly_on_shutdown() {
    let pool = ThreadPool::builder().max_workers(4).idle_timeout(Duration::from_secs(3600)).build().unwrap();
    let futs: Vec<_> = (0..100).map(|i| pool.submit(move || i).unwrap()).collect();
    futs.into_iter().for_each(|f| drop(f.wait()));
    let t = Instant::now();
    pool.shutdown_timeout(std::time::Duration::MAX);
    assert!(t.elapsed() < Duration::from_secs(10), "idle workers must not wait for their keep-alive");
    assert_eq!(pool.stats().workers, 0);
}

#[test]
fn submits_racing_with_shutdown_either_fail_or_complete() {
    for _ in 0..50 {
        let pool = ThreadPool::builder().max_workers(2).build().unwrap();
        let submitter = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let mut futs = Vec::new();
                for i in 0..200 {
                    match pool.submit(move || i) {
                        Ok(f) => futs.push((i, f)),
                        Err(SubmitError::ShutDown) => break,
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
                futs
            })
        };
        pool.shutdown();
        for (i, f) in submitter.join().unwrap() {
            // Accepted jobs must finish; nothing may hang.
            let mut f = f;
            match f.wait_timeout(Duration::from_secs(10)) {
                Some(Ok(v)) => assert_eq!(v, i),
                Some(Err(JobError::ShutDown)) => {}
                other => panic!("job {i}: {other:?}"),
            }
        }
    }
}

#[test]
fn shutdown_timeout_lets_queued_jobs_run_until_the_deadline() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (release, running) = block_worker(&pool);
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move || i).unwrap()).collect();
    let p = pool.clone();
    let waiter = std::thread::spawn(move || p.shutdown_timeout(Duration::MAX));
    // Refused from the moment the shutdown began, while the queue still runs.
    while !pool.is_shut_down() {
        std::thread::yield_now();
    }
    assert_eq!(pool.submit(|| 9).unwrap_err(), SubmitError::ShutDown);
    release.send(()).unwrap();
    assert!(waiter.join().unwrap().is_complete());
    assert_eq!(running.wait(), Ok(()));
    for (i, q) in queued.into_iter().enumerate() {
        assert_eq!(q.wait(), Ok(i));
    }
    assert_eq!(pool.stats().workers, 0);
}

#[test]
fn shutdown_timeout_zero_cancels_the_queue_and_reports_it() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (release, running) = block_worker(&pool);
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move || i).unwrap()).collect();
    let report = pool.shutdown_timeout(Duration::ZERO);
    assert_eq!((report.cancelled, report.still_running), (3, 1));
    assert!(!report.is_complete());
    for q in queued {
        assert_eq!(q.wait(), Err(JobError::ShutDown));
    }
    release.send(()).unwrap();
    assert_eq!(running.wait(), Ok(()));
}
