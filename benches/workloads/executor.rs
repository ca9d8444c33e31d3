//! W1 and W2: blocking work off the loop and back, tulip's default executor against tokio's
//! `spawn_blocking` (on a current-thread runtime) and smol's `blocking::unblock`.
//!
//! - W1, executor round trip: from the loop, await N = 20,000 trivial jobs (a closure returning an
//!   integer) one after another; µs per job, median of 5 repetitions (total / N each).
//! - W2, executor throughput: submit N = 100,000 trivial jobs at once, then await them all; jobs/s,
//!   median of 3 repetitions.
//!
//! Each system runs its repetitions inside one runtime (one `tulip::run`, one tokio runtime, one
//! `block_on`), after one untimed warm-up repetition, so that starting the pool's threads is not
//! measured; every system gets the same treatment.

use std::time::Instant;

use futures_lite::future::block_on;

const W1_REPS: usize = 5;
const W2_REPS: usize = 3;

pub fn run(report: &mut crate::Report) {
    if report.wants("W1") {
        let n = report.scale(20_000, 20);
        let (tulip, tokio, smol) = (w1_tulip(n), w1_tokio(n), w1_smol(n));
        report.emit("tulip", "W1", tulip, "us/job", n);
        report.emit("tokio", "W1", tokio, "us/job", n);
        report.emit("smol", "W1", smol, "us/job", n);
    }
    if report.wants("W2") {
        let n = report.scale(100_000, 20);
        let (tulip, tokio, smol) = (w2_tulip(n), w2_tokio(n), w2_smol(n));
        report.emit("tulip", "W2", tulip, "jobs/s", n);
        report.emit("tokio", "W2", tokio, "jobs/s", n);
        report.emit("smol", "W2", smol, "jobs/s", n);
    }
}

/// Median µs per job over `W1_REPS` timed repetitions (after one warm-up) of `rep`.
async fn w1_median<F, Fut>(n: usize, mut rep: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(W1_REPS);
    for i in 0..=W1_REPS {
        let start = Instant::now();
        rep().await;
        if i > 0 {
            times.push(start.elapsed().as_secs_f64() * 1e6 / n as f64);
        }
    }
    crate::median(times)
}

/// Median jobs/s over `W2_REPS` timed repetitions (after one warm-up) of `rep`.
async fn w2_median<F, Fut>(n: usize, mut rep: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut rates = Vec::with_capacity(W2_REPS);
    for i in 0..=W2_REPS {
        let start = Instant::now();
        rep().await;
        if i > 0 {
            rates.push(n as f64 / start.elapsed().as_secs_f64());
        }
    }
    crate::median(rates)
}

fn w1_tulip(n: usize) -> f64 {
    tulip::run(w1_median(n, || async move {
        let lp = tulip::get_running_loop();
        let mut sum = 0usize;
        for i in 0..n {
            sum += lp.run_in_executor(None, move || i).await.expect("tulip job");
        }
        assert_eq!(sum, n * (n - 1) / 2);
    }))
}

fn w1_tokio(n: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(w1_median(n, || async move {
        let mut sum = 0usize;
        for i in 0..n {
            sum += tokio::task::spawn_blocking(move || i).await.expect("tokio job");
        }
        assert_eq!(sum, n * (n - 1) / 2);
    }))
}

fn w1_smol(n: usize) -> f64 {
    block_on(w1_median(n, || async move {
        let mut sum = 0usize;
        for i in 0..n {
            sum += blocking::unblock(move || i).await;
        }
        assert_eq!(sum, n * (n - 1) / 2);
    }))
}

fn w2_tulip(n: usize) -> f64 {
    tulip::run(w2_median(n, || async move {
        let lp = tulip::get_running_loop();
        let jobs: Vec<_> = (0..n).map(|i| lp.run_in_executor(None, move || i)).collect();
        let mut sum = 0usize;
        for j in jobs {
            sum += j.await.expect("tulip job");
        }
        assert_eq!(sum, n * (n - 1) / 2);
    }))
}

fn w2_tokio(n: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(w2_median(n, || async move {
        let jobs: Vec<_> = (0..n).map(|i| tokio::task::spawn_blocking(move || i)).collect();
        let mut sum = 0usize;
        for j in jobs {
            sum += j.await.expect("tokio job");
        }
        assert_eq!(sum, n * (n - 1) / 2);
    }))
}

fn w2_smol(n: usize) -> f64 {
    block_on(w2_median(n, || async move {
        let jobs: Vec<_> = (0..n).map(|i| blocking::unblock(move || i)).collect();
        let mut sum = 0usize;
        for j in jobs {
            sum += j.await;
        }
        assert_eq!(sum, n * (n - 1) / 2);
    }))
}
