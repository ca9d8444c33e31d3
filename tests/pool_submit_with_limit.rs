//! `ThreadPool::submit_with_limit`: a run-time limit counted from the job's start (issue 13: a
//! `timeout` around the future also counts the time in the queue). At the limit the future fails with
//! `TimedOut` at once and the token is set; the thread stays busy until the job returns.
// `TimedOut { .. }` matches `TimedOut` today and `TimedOut(limit)` once the error module's issue-13
// shape is merged.
#![allow(clippy::unneeded_struct_pattern)]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use tulip::{JobError, ThreadPool};

/// Occupies the pool's only worker until the returned sender is used.
fn occupy(pool: &ThreadPool) -> (mpsc::Sender<()>, tulip::ConcurrentFuture<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    let fut = pool.submit(move || rx.recv().unwrap_or(())).unwrap();
    while pool.stats().running == 0 {
        std::thread::yield_now();
    }
    (tx, fut)
}

#[test]
fn time_in_the_queue_does_not_count() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (release, blocker) = occupy(&pool);
    let limited = pool.submit_with_limit(|_| 7, Duration::from_millis(20)).unwrap();
    // Queued for several times its limit before it starts: still no time-out.
    std::thread::sleep(Duration::from_millis(100));
    assert!(!limited.is_done());
    release.send(()).unwrap();
    blocker.wait().unwrap();
    assert_eq!(limited.wait(), Ok(7));
    assert_eq!(pool.stats().failed, 0);
}

#[test]
fn at_the_limit_the_future_fails_and_the_token_is_set() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (saw_token, token_seen) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    let started = Instant::now();
    let fut = pool
        .submit_with_limit(
            move |token| {
                while !token.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                saw_token.send(()).unwrap();
                // Keeps its thread after the limit: the pool must count it running.
                released.recv().unwrap();
                1
            },
            Duration::from_millis(30),
        )
        .unwrap();
    let outcome = fut.wait();
    assert!(matches!(outcome, Err(JobError::TimedOut { .. })), "{outcome:?}");
    assert!(started.elapsed() >= Duration::from_millis(30));
    token_seen.recv_timeout(Duration::from_secs(10)).expect("the token was set at the limit");
    assert_eq!(pool.stats().running, 1, "the job still holds its thread");
    release.send(()).unwrap();
    let report = pool.shutdown_timeout(Duration::from_secs(10));
    assert!(report.is_complete(), "{report:?}");
    let s = pool.stats();
    assert_eq!((s.failed, s.completed, s.running), (1, 0, 0), "{s:?}");
}

#[test]
fn a_job_that_ignores_its_token_still_fails_at_the_limit() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (release, released) = mpsc::channel::<()>();
    let fut = pool.submit_with_limit(move |_| released.recv().is_ok(), Duration::from_millis(10)).unwrap();
    assert!(matches!(fut.wait(), Err(JobError::TimedOut { .. })));
    release.send(()).unwrap();
    assert!(pool.shutdown_timeout(Duration::from_secs(10)).is_complete());
}

#[test]
fn duration_max_is_no_limit() {
    let pool = ThreadPool::builder().build().unwrap();
    let fut = pool.submit_with_limit(|token| token.is_cancelled(), Duration::MAX).unwrap();
    assert_eq!(fut.wait(), Ok(false));
}

#[test]
fn jobs_ending_at_their_limit_are_counted_as_their_futures_report() {
    let pool = ThreadPool::builder().max_workers(4).build().unwrap();
    // Run times straddle the limit, so some jobs return while their limit fires.
    let futures: Vec<_> = (0..200u64)
        .map(|i| {
            let run = Duration::from_micros(i % 20 * 100);
            let job = move |_: &tulip::CancelToken| {
                let start = Instant::now();
                while start.elapsed() < run {
                    std::hint::spin_loop();
                }
                i
            };
            pool.submit_with_limit(job, Duration::from_millis(1)).unwrap()
        })
        .collect();
    let (mut values, mut timeouts) = (0, 0);
    for (i, fut) in futures.into_iter().enumerate() {
        match fut.wait() {
            Ok(v) => {
                assert_eq!(v, i as u64);
                values += 1;
            }
            Err(JobError::TimedOut { .. }) => timeouts += 1,
            Err(e) => panic!("job {i}: {e:?}"),
        }
    }
    assert!(pool.shutdown_timeout(Duration::from_secs(30)).is_complete());
    let s = pool.stats();
    assert_eq!((s.completed, s.failed, s.cancelled), (values, timeouts, 0), "{s:?}");
}
