//! W10: waiting on many. tulip against `FuturesUnordered` on a current-thread tokio runtime.
//!
//! - W10a, blocking `as_completed`: from a plain thread, submit N = 100,000 trivial jobs (a closure
//!   returning an integer) to a thread pool and take every result in completion order; jobs/s. tulip:
//!   `ThreadPool::submit` and `tulip::as_completed`; tokio: `spawn_blocking` into a `FuturesUnordered`
//!   drained by `block_on`.
//! - W10b, `gather` on the loop: N = 100,000 trivial tasks, all results; tasks/s. tulip:
//!   `tulip::gather` (which spawns each future as a loop task); tokio: `spawn` into a
//!   `FuturesUnordered` of `JoinHandle`s.
//!
//! Median of 3 timed repetitions after one warm-up, each inside one runtime or pool, as in W1/W2.

use std::time::Instant;

use futures_util::stream::{FuturesUnordered, StreamExt};

const REPS: usize = 3;

pub fn run(report: &mut crate::Report) {
    if report.wants("W10a") {
        let n = report.scale(100_000, 20);
        let (tulip, tokio) = (w10a_tulip(n), w10a_tokio(n));
        report.emit("tulip", "W10a", tulip, "jobs/s", n);
        report.emit("tokio", "W10a", tokio, "jobs/s", n);
    }
    if report.wants("W10b") {
        let n = report.scale(100_000, 20);
        let (tulip, tokio) = (w10b_tulip(n), w10b_tokio(n));
        report.emit("tulip", "W10b", tulip, "tasks/s", n);
        report.emit("tokio", "W10b", tokio, "tasks/s", n);
    }
}

/// The median rate (per second) over `REPS` timed repetitions of `rep`, after one warm-up.
fn median_rate(n: usize, mut rep: impl FnMut()) -> f64 {
    let mut rates = Vec::with_capacity(REPS);
    for i in 0..=REPS {
        let start = Instant::now();
        rep();
        if i > 0 {
            rates.push(n as f64 / start.elapsed().as_secs_f64());
        }
    }
    crate::median(rates)
}

fn w10a_tulip(n: usize) -> f64 {
    let pool = tulip::ThreadPool::builder().build().expect("a thread pool");
    median_rate(n, || {
        let futs: Vec<_> = (0..n).map(|i| pool.submit(move || i).expect("submit")).collect();
        let mut sum = 0;
        for fut in tulip::as_completed(futs, None) {
            sum += fut.expect("no timeout").wait().expect("the job ran");
        }
        assert_eq!(sum, n * (n - 1) / 2);
    })
}

fn w10a_tokio(n: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("a tokio runtime");
    median_rate(n, || {
        let sum = rt.block_on(async {
            let mut set: FuturesUnordered<_> =
                (0..n).map(|i| tokio::task::spawn_blocking(move || i)).collect();
            let mut sum = 0;
            while let Some(r) = set.next().await {
                sum += r.expect("the job ran");
            }
            sum
        });
        assert_eq!(sum, n * (n - 1) / 2);
    })
}

fn w10b_tulip(n: usize) -> f64 {
    tulip::run(async {
        let mut rates = Vec::with_capacity(REPS);
        for i in 0..=REPS {
            let start = Instant::now();
            let futs = (0..n).map(|i| async move { Ok::<usize, tulip::JobError>(i) });
            let out = tulip::gather(futs).await.expect("no task fails");
            assert_eq!(out.len(), n);
            if i > 0 {
                rates.push(n as f64 / start.elapsed().as_secs_f64());
            }
        }
        crate::median(rates)
    })
}

fn w10b_tokio(n: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("a tokio runtime");
    median_rate(n, || {
        let len = rt.block_on(async {
            let mut set: FuturesUnordered<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
            let mut len = 0;
            while let Some(r) = set.next().await {
                r.expect("the task ran");
                len += 1;
            }
            len
        });
        assert_eq!(len, n);
    })
}
