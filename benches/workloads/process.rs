//! W5a–W5d: the process pool, against procspawn's pool in the same run (and, for W5c, against two
//! plain threads running the same burn loop).
//!
//! Both pools re-execute this bench binary: `main` calls `tulip::process::init()` and then
//! `procspawn::init()` before anything else.

use std::hint::black_box;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tulip::ProcessPool;

use crate::{median, Report};

pub fn run(report: &mut Report) {
    if report.wants("W5a") {
        w5a(report);
    }
    if report.wants("W5b") {
        w5b(report);
    }
    if report.wants("W5c") {
        w5c(report);
    }
    if report.wants("W5d") {
        w5d(report);
    }
}

pub fn add_one(x: u64) -> u64 {
    x + 1
}

/// The median over `runs` runs of `n` sequential trivial tasks, in µs per task, after `warm`
/// warm-up tasks (W5a locally, W8b over ssh).
pub fn round_trip_us(pool: &ProcessPool, n: usize, warm: u64, runs: usize) -> f64 {
    for i in 0..warm {
        pool.submit(add_one, i).unwrap().wait().unwrap();
    }
    let runs: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            for i in 0..n as u64 {
                assert_eq!(pool.submit(add_one, i).unwrap().wait(), Ok(i + 1));
            }
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        })
        .collect();
    median(runs)
}

/// A pool of two warm workers.
fn tulip_pool() -> ProcessPool {
    let pool = ProcessPool::builder().max_workers(2).min_workers(2).build().expect("tulip pool");
    while pool.stats().idle < 2 {
        std::thread::sleep(Duration::from_millis(1));
    }
    pool
}

fn procspawn_pool() -> procspawn::Pool {
    let pool = procspawn::Pool::new(2).expect("procspawn pool");
    // Both workers answer once before timing starts.
    let warm: Vec<_> = (0..2).map(|i| pool.spawn(i, add_one)).collect();
    for h in warm {
        h.join().expect("procspawn warm-up");
    }
    pool
}

/// W5a: N sequential trivial tasks on a pool of 2; median µs per task over 5 repetitions.
fn w5a(report: &mut Report) {
    let n = report.scale(2_000, 10);
    let pool = tulip_pool();
    report.emit("tulip", "W5a", round_trip_us(&pool, n, 200, 5), "us/task", n);
    pool.shutdown_timeout(Duration::MAX);

    let pool = procspawn_pool();
    let runs: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for i in 0..n as u64 {
                assert_eq!(pool.spawn(i, add_one).join().unwrap(), i + 1);
            }
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        })
        .collect();
    report.emit("procspawn", "W5a", median(runs), "us/task", n);
}

/// W5b: N trivial tasks submitted at once on a pool of 2; tasks/s (median of 3).
fn w5b(report: &mut Report) {
    let n = report.scale(10_000, 10);
    let pool = tulip_pool();
    let runs: Vec<f64> = (0..3)
        .map(|_| {
            let t = Instant::now();
            let futs: Vec<_> = (0..n as u64).map(|i| pool.submit(add_one, i).unwrap()).collect();
            for (i, f) in futs.into_iter().enumerate() {
                assert_eq!(f.wait(), Ok(i as u64 + 1));
            }
            n as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    report.emit("tulip", "W5b", median(runs), "tasks/s", n);
    pool.shutdown_timeout(Duration::MAX);

    // procspawn holds a few descriptors per pending task; give it every descriptor allowed.
    raise_fd_limit();
    let pool = procspawn_pool();
    let attempt = catch_unwind(AssertUnwindSafe(|| {
        let t = Instant::now();
        let handles: Vec<_> = (0..n as u64).map(|i| pool.spawn(i, add_one)).collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), i as u64 + 1);
        }
        n as f64 / t.elapsed().as_secs_f64()
    }));
    match attempt {
        Ok(rate) => report.emit("procspawn", "W5b", rate, "tasks/s", n),
        Err(_) => eprintln!(
            "W5b: procspawn could not run {n} tasks at once (it panicked above, typically out of file \
             descriptors: it holds several per pending task); no figure"
        ),
    }
}

fn raise_fd_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit on this process's own limit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The CPU work of W5c: a fixed loop.
fn burn(iters: u64) -> u64 {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..iters {
        x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i) ^ (x >> 29));
    }
    x
}

/// W5c: 16 tasks of ~50 ms of CPU each on a pool of 2, as a speed-up over running them serially.
///
/// The machine may be shared (other processes only ever make a run slower), so the serial run and the
/// three systems take turns for 5 rounds (1 with `--quick`), in a rotating order, and each speed-up is
/// the best serial time over the system's best time.
fn w5c(report: &mut Report) {
    let tasks = 16;
    // Calibrate once so that one task burns about 50 ms here; every system runs the same count.
    let probe = 2_000_000u64;
    let t = Instant::now();
    black_box(burn(probe));
    let per_iter = t.elapsed().as_secs_f64() / probe as f64;
    let iters = (0.050 / per_iter) as u64;
    let serial = || {
        let t = Instant::now();
        for _ in 0..tasks {
            black_box(burn(iters));
        }
        t.elapsed().as_secs_f64()
    };

    let tulip = tulip_pool();
    let procspawn = procspawn_pool();
    let mut run_tulip = || {
        let futs: Vec<_> = (0..tasks).map(|_| tulip.submit(burn, iters).unwrap()).collect();
        for f in futs {
            f.wait().unwrap();
        }
    };
    let mut run_procspawn = || {
        let handles: Vec<_> = (0..tasks).map(|_| procspawn.spawn(iters, burn)).collect();
        for h in handles {
            h.join().unwrap();
        }
    };
    let mut run_threads = || {
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    while next.fetch_add(1, Ordering::Relaxed) < tasks {
                        black_box(burn(iters));
                    }
                });
            }
        });
    };
    let systems: [(&str, &mut dyn FnMut()); 3] =
        [("tulip", &mut run_tulip), ("procspawn", &mut run_procspawn), ("threads", &mut run_threads)];
    let mut serial_best = f64::MAX;
    let mut best = [f64::MAX; 3];
    for round in 0..report.scale(5, 5) {
        serial_best = serial_best.min(serial());
        // Each round starts with another system, so that none always follows the serial run.
        for i in 0..systems.len() {
            let k = (round + i) % systems.len();
            let t = Instant::now();
            (systems[k].1)();
            best[k] = best[k].min(t.elapsed().as_secs_f64());
        }
    }
    for ((name, _), t) in systems.iter().zip(best) {
        report.emit(name, "W5c", serial_best / t, "x", tasks);
    }
}

/// W5d: create a pool of 2 workers and get the first trivial result; median ms over 9 repetitions,
/// the two systems taking turns so that both see the same machine load.
///
/// tulip is asked to start both workers at once (`min_workers(2)`), like procspawn does, although
/// by default it would start only the first.
fn w5d(report: &mut Report) {
    let (mut tulip, mut procspawn) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        let t = Instant::now();
        let pool = ProcessPool::builder().max_workers(2).min_workers(2).build().unwrap();
        assert_eq!(pool.submit(add_one, 1).unwrap().wait(), Ok(2));
        tulip.push(t.elapsed().as_secs_f64() * 1e3);
        // Waits for the workers to be reaped (a drop lets them go in the background), so the next
        // round starts from the same state.
        pool.shutdown_timeout(Duration::MAX);

        let t = Instant::now();
        let pool = procspawn::Pool::new(2).unwrap();
        assert_eq!(pool.spawn(1, add_one).join().unwrap(), 2);
        procspawn.push(t.elapsed().as_secs_f64() * 1e3);
        drop(pool);
    }
    report.emit("tulip", "W5d", median(tulip), "ms", 2);
    report.emit("procspawn", "W5d", median(procspawn), "ms", 2);
}
