//! Soak: every part of tulip under mixed load for a while, checking that nothing is lost and that
//! memory does not keep growing.
//!
//! `cargo run --release --example soak -- --seconds N` (default 10). Runs at once:
//!
//! - cross-thread callbacks posted to a loop, and tasks spawned on it (with `run_in_executor` jobs
//!   on its default executor);
//! - blocking threads calling into async code through a `BlockingPortal`;
//! - a thread submitting batches of jobs to a `ThreadPool`;
//! - a thread resolving `localhost` on the DNS lane;
//! - a thread submitting batches of tasks to a `ProcessPool`.
//!
//! Prints throughput and RSS once a second; exits non-zero if any job is lost or comes back wrong,
//! or if RSS keeps growing (the last third of the run more than 20% and 16 MiB above the first
//! third).

#[cfg(windows)]
fn main() {
    println!("skipped on Windows: the process pool is Unix-only for now (README, Platforms)");
}

#[cfg(unix)]
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(unix)]
use std::sync::{Arc, Mutex};
#[cfg(unix)]
use std::time::{Duration, Instant};

#[cfg(unix)]
use tulip::dns::{self, Hints};

/// Resident set size in KiB, from /proc (0 where unavailable).
#[cfg(unix)]
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Completed units of work per workload, and what went wrong.
#[cfg(unix)]
#[derive(Default)]
struct Counters {
    callbacks: AtomicU64,
    portal_calls: AtomicU64,
    tasks: AtomicU64,
    executor_jobs: AtomicU64,
    pool_jobs: AtomicU64,
    dns_lookups: AtomicU64,
    process_tasks: AtomicU64,
    /// Units that came back wrong or not at all; the first few are described in `failures`.
    bad: AtomicU64,
    failures: Mutex<Vec<String>>,
}

#[cfg(unix)]
impl Counters {
    fn fail(&self, what: String) {
        self.bad.fetch_add(1, Ordering::Relaxed);
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if f.len() < 10 {
            f.push(what);
        }
    }

    fn snapshot(&self) -> [u64; 7] {
        [
            self.callbacks.load(Ordering::Relaxed),
            self.tasks.load(Ordering::Relaxed),
            self.executor_jobs.load(Ordering::Relaxed),
            self.portal_calls.load(Ordering::Relaxed),
            self.pool_jobs.load(Ordering::Relaxed),
            self.dns_lookups.load(Ordering::Relaxed),
            self.process_tasks.load(Ordering::Relaxed),
        ]
    }
}

/// The process-pool task: cheap, and its result checkable.
#[cfg(unix)]
fn mix(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

#[cfg(unix)]
fn main() {
    // First: in a worker process, this runs the worker and never returns.
    tulip::process::init();

    let mut seconds = 10u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--seconds" {
            seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds);
        }
    }
    let c = Arc::new(Counters::default());
    let portal = Arc::new(tulip::BlockingPortal::start().expect("portal"));
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();

    // Blocking threads calling into async code through the portal.
    for _ in 0..2 {
        let (portal, c) = (portal.clone(), c.clone());
        workers.push(std::thread::spawn(move || {
            let mut sent = 0u64;
            while Instant::now() < end {
                let v = portal.call(move || async move {
                    let lp = tulip::get_running_loop();
                    let t = lp.spawn(async move { sent.wrapping_mul(3) });
                    t.await
                });
                match v {
                    Ok(Ok(v)) if v == sent.wrapping_mul(3) => {
                        c.portal_calls.fetch_add(1, Ordering::Relaxed);
                    }
                    other => c.fail(format!("portal call {sent}: {other:?}")),
                }
                sent += 1;
            }
        }));
    }

    // Batches of jobs on a thread pool.
    {
        let c = c.clone();
        workers.push(std::thread::spawn(move || {
            let pool = tulip::ThreadPool::builder().max_workers(2).thread_name_prefix("soak").build();
            let pool = match pool {
                Ok(p) => p,
                Err(e) => return c.fail(format!("thread pool: {e}")),
            };
            let mut base = 0u64;
            while Instant::now() < end {
                let futs: Vec<_> = (base..base + 256).map(|i| (i, pool.submit(move || i * 3))).collect();
                for (i, f) in futs {
                    match f {
                        Ok(f) => match f.wait() {
                            Ok(v) if v == i * 3 => {
                                c.pool_jobs.fetch_add(1, Ordering::Relaxed);
                            }
                            other => c.fail(format!("pool job {i}: {other:?}")),
                        },
                        Err(e) => c.fail(format!("pool submit {i}: {e}")),
                    }
                }
                base += 256;
            }
            pool.shutdown_timeout(Duration::MAX);
        }));
    }

    // Lookups of localhost on the DNS lane, a few at a time.
    {
        let c = c.clone();
        workers.push(std::thread::spawn(move || {
            let hints = Hints::default().socktype(dns::SOCK_STREAM);
            while Instant::now() < end {
                let futs: Vec<_> = (0..4).map(|_| dns::getaddrinfo("localhost", 80, hints)).collect();
                for f in futs {
                    match f.wait() {
                        Ok(a) if a.iter().any(|a| a.addr.ip().is_loopback()) => {
                            c.dns_lookups.fetch_add(1, Ordering::Relaxed);
                        }
                        other => c.fail(format!("localhost lookup: {other:?}")),
                    }
                }
            }
        }));
    }

    // Batches of tasks on a process pool.
    let procs = tulip::ProcessPool::builder().max_workers(2).build().expect("process pool");
    {
        let (procs, c) = (procs.clone(), c.clone());
        workers.push(std::thread::spawn(move || {
            let mut base = 0u64;
            while Instant::now() < end {
                let futs: Vec<_> = (base..base + 128).map(|i| (i, procs.submit(mix, i))).collect();
                for (i, f) in futs {
                    match f.map(|f| f.wait()) {
                        Ok(Ok(v)) if v == mix(i) => {
                            c.process_tasks.fetch_add(1, Ordering::Relaxed);
                        }
                        other => c.fail(format!("process task {i}: {other:?}")),
                    }
                }
                base += 128;
            }
        }));
    }

    // A loop on this thread: cross-thread callbacks, local tasks and executor jobs, and the report.
    let lp = tulip::EventLoop::new().expect("loop");
    let producer = {
        let (h, c) = (lp.handle(), c.clone());
        std::thread::spawn(move || {
            let mut posted = 0u64;
            while Instant::now() < end {
                for _ in 0..1000 {
                    let c = c.clone();
                    if h.call_soon_threadsafe(move || {
                        c.callbacks.fetch_add(1, Ordering::Relaxed);
                    })
                    .is_ok()
                    {
                        posted += 1;
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            posted
        })
    };

    let mut rss = Vec::new();
    let cc = c.clone();
    let ran = lp.run_until_complete(async move {
        let c = cc;
        let lp = tulip::get_running_loop();
        let mut last = c.snapshot();
        let mut next_report = Instant::now() + Duration::from_secs(1);
        while Instant::now() < end {
            let batch: Vec<_> = (0..200u64).map(|i| lp.spawn(async move { i * 2 })).collect();
            let jobs: Vec<_> = (0..16u64).map(|i| lp.run_in_executor(None, move || i + 1)).collect();
            for (i, t) in batch.into_iter().enumerate() {
                match t.await {
                    Ok(v) if v == i as u64 * 2 => {
                        c.tasks.fetch_add(1, Ordering::Relaxed);
                    }
                    other => c.fail(format!("task {i}: {other:?}")),
                }
            }
            for (i, j) in jobs.into_iter().enumerate() {
                match j.await {
                    Ok(v) if v == i as u64 + 1 => {
                        c.executor_jobs.fetch_add(1, Ordering::Relaxed);
                    }
                    other => c.fail(format!("executor job {i}: {other:?}")),
                }
            }
            tulip::sleep(Duration::from_millis(1)).await;
            if Instant::now() >= next_report {
                next_report += Duration::from_secs(1);
                let now = c.snapshot();
                let d: Vec<u64> = now.iter().zip(last).map(|(n, l)| n - l).collect();
                let kib = rss_kib();
                rss.push(kib);
                println!(
                    "t={:>3}s callbacks/s={:>9} tasks/s={:>8} executor_jobs/s={:>6} portal_calls/s={:>7} \
                     pool_jobs/s={:>7} dns/s={:>6} process_tasks/s={:>7} rss={} KiB",
                    rss.len(),
                    d[0],
                    d[1],
                    d[2],
                    d[3],
                    d[4],
                    d[5],
                    d[6],
                    kib
                );
                last = now;
            }
        }
        rss
    });
    let rss = ran.expect("loop ran");
    let posted = producer.join().expect("producer");
    // Everything posted before this stop runs before the loop stops: the inbox keeps its order.
    let h = lp.handle();
    let stopper = h.clone();
    h.call_soon_threadsafe(move || stopper.stop()).expect("loop open");
    lp.run_forever().expect("loop ran");
    lp.close().expect("closed");
    for w in workers {
        if w.join().is_err() {
            c.fail("a load thread panicked".into());
        }
    }
    let pstats = procs.stats();
    procs.shutdown_timeout(Duration::MAX);

    let ran = c.callbacks.load(Ordering::Relaxed);
    let totals = c.snapshot();
    println!(
        "posted {posted} callbacks, {ran} ran; {} tasks, {} executor jobs, {} portal calls, {} pool jobs, \
         {} localhost lookups, {} process tasks ({} worker deaths)",
        totals[1], totals[2], totals[3], totals[4], totals[5], totals[6], pstats.worker_deaths
    );
    let mut failed = false;
    if ran != posted {
        eprintln!("LOST: {} callbacks", posted.abs_diff(ran));
        failed = true;
    }
    let bad = c.bad.load(Ordering::Relaxed);
    if bad > 0 {
        eprintln!("LOST or WRONG: {bad} results, first ones:");
        for f in c.failures.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            eprintln!("  {f}");
        }
        failed = true;
    }
    if pstats.worker_deaths > 0 {
        eprintln!("{} process-pool workers died", pstats.worker_deaths);
        failed = true;
    }
    if totals.contains(&0) && seconds >= 2 {
        eprintln!("a workload made no progress: {totals:?}");
        failed = true;
    }
    if rss.len() >= 6 {
        let third = rss.len() / 3;
        let first = rss[..third].iter().sum::<u64>() / third as u64;
        let last = rss[rss.len() - third..].iter().sum::<u64>() / third as u64;
        if last > first + first / 5 && last > first + 16 * 1024 {
            eprintln!("RSS kept growing: {first} KiB -> {last} KiB");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
    println!("soak ok");
}
