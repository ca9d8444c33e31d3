//! W4a and W4b: name resolution, tulip's DNS lane against tokio's `lookup_host` and smol's
//! `async_net::resolve` (both resolve on their general blocking pool).
//!
//! - W4a: 1,000 concurrent lookups of ("localhost", 80); total ms, median of 5 runs after a warm-up.
//! - W4a-distinct (extra, for honesty about single-flight): the same with 1,000 *different* questions
//!   (ports 1..=1000), so tulip cannot share calls and its 4-thread lane does all 1,000.
//! - W4b: fill the "default executor" with `max_workers` jobs that each sleep 200 ms, then time one
//!   lookup of ("localhost", 80); ms for that lookup. tokio's default blocking pool holds 512 threads,
//!   smol's (`blocking`) 500, tulip's default executor `min(32, num_cpus + 4)`.

use std::time::{Duration, Instant};

use tulip::dns::Hints;

const HOST: &str = "localhost";
const PORT: u16 = 80;
const W4B_SLEEP: Duration = Duration::from_millis(200);
/// tokio's default `max_blocking_threads`.
const TOKIO_BLOCKING_THREADS: usize = 512;
/// `blocking`'s default thread cap (smol's `unblock` pool, `BLOCKING_MAX_THREADS`).
const SMOL_BLOCKING_THREADS: usize = 500;

pub fn run(report: &mut crate::Report) {
    if report.wants("W4a") {
        w4a(report);
    }
    if report.wants("W4a-distinct") {
        w4a_distinct(report);
    }
    if report.wants("W4b") {
        w4b(report);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn w4a(report: &mut crate::Report) {
    concurrent_lookups(report, "W4a", |_| PORT);
}

fn w4a_distinct(report: &mut crate::Report) {
    // Port i + 1 for lookup i: 1,000 different questions, so no two calls can be shared.
    concurrent_lookups(report, "W4a-distinct", |i| (i + 1) as u16);
}

/// N concurrent lookups of (HOST, port(i)) on each system; the median of 5 runs after a warm-up.
fn concurrent_lookups(report: &mut crate::Report, workload: &str, port: fn(usize) -> u16) {
    let n = report.scale(1_000, 10);
    let reps = 5;

    let tulip_runs: Vec<f64> = (0..=reps)
        .map(|_| {
            tulip::run(async {
                let lp = tulip::get_running_loop();
                let start = Instant::now();
                let lookups: Vec<_> =
                    (0..n).map(|i| lp.getaddrinfo(HOST, port(i), Hints::default())).collect();
                for l in lookups {
                    assert!(!l.await.expect("tulip lookup").is_empty());
                }
                ms(start.elapsed())
            })
        })
        .skip(1)
        .collect();
    report.emit("tulip", workload, crate::median(tulip_runs), "ms", n);

    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let tokio_runs: Vec<f64> = (0..=reps)
        .map(|_| {
            rt.block_on(async {
                let start = Instant::now();
                let lookups: Vec<_> =
                    (0..n).map(|i| tokio::spawn(tokio::net::lookup_host((HOST, port(i))))).collect();
                for l in lookups {
                    assert!(l.await.expect("join").expect("tokio lookup").next().is_some());
                }
                ms(start.elapsed())
            })
        })
        .skip(1)
        .collect();
    drop(rt);
    report.emit("tokio", workload, crate::median(tokio_runs), "ms", n);

    let smol_runs: Vec<f64> = (0..=reps)
        .map(|_| {
            smol::block_on(async {
                let start = Instant::now();
                let lookups: Vec<_> =
                    (0..n).map(|i| smol::spawn(async_net::resolve((HOST, port(i))))).collect();
                for l in lookups {
                    assert!(!l.await.expect("smol lookup").is_empty());
                }
                ms(start.elapsed())
            })
        })
        .skip(1)
        .collect();
    report.emit("smol", workload, crate::median(smol_runs), "ms", n);
}

fn w4b(report: &mut crate::Report) {
    let (took, workers) = tulip::run(async {
        let lp = tulip::get_running_loop();
        let pool = lp.default_executor().expect("default executor");
        let workers = pool.max_workers();
        lp.getaddrinfo(HOST, PORT, Hints::default()).await.expect("warm-up lookup");
        let sleepers: Vec<_> =
            (0..workers).map(|_| lp.run_in_executor(None, || std::thread::sleep(W4B_SLEEP))).collect();
        let start = Instant::now();
        lp.getaddrinfo(HOST, PORT, Hints::default()).await.expect("tulip lookup");
        let took = start.elapsed();
        assert!(pool.stats().running + pool.stats().queued > 0, "the pool was saturated during the lookup");
        for s in sleepers {
            s.await.expect("sleeper");
        }
        (took, workers)
    });
    report.emit("tulip", "W4b", ms(took), "ms", workers);

    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let took = rt.block_on(async {
        assert!(tokio::net::lookup_host((HOST, PORT)).await.expect("warm-up lookup").next().is_some());
        let sleepers: Vec<_> = (0..TOKIO_BLOCKING_THREADS)
            .map(|_| tokio::task::spawn_blocking(|| std::thread::sleep(W4B_SLEEP)))
            .collect();
        let start = Instant::now();
        assert!(tokio::net::lookup_host((HOST, PORT)).await.expect("tokio lookup").next().is_some());
        let took = start.elapsed();
        for s in sleepers {
            s.await.expect("sleeper");
        }
        took
    });
    drop(rt);
    report.emit("tokio", "W4b", ms(took), "ms", TOKIO_BLOCKING_THREADS);

    let took = smol::block_on(async {
        async_net::resolve((HOST, PORT)).await.expect("warm-up lookup");
        let sleepers: Vec<_> =
            (0..SMOL_BLOCKING_THREADS).map(|_| blocking::unblock(|| std::thread::sleep(W4B_SLEEP))).collect();
        let start = Instant::now();
        async_net::resolve((HOST, PORT)).await.expect("smol lookup");
        let took = start.elapsed();
        for s in sleepers {
            s.await;
        }
        took
    });
    report.emit("smol", "W4b", ms(took), "ms", SMOL_BLOCKING_THREADS);
}
