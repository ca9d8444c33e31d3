#[path = "../support/process_harness.rs"]
mod harness;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use harness::Case;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "timeout_kills_and_replaces_the_worker", run: timeout_kills_and_replaces_the_worker },
        Case {
            name: "timeout_counts_from_the_start_of_the_task",
            run: timeout_counts_from_the_start_of_the_task,
        },
        Case { name: "cancel_kills_a_running_task", run: cancel_kills_a_running_task },
        // Unix only: it needs the worker sent a task ahead within the pool's pipelining budget,
        // which under Wine on a loaded machine it sometimes is not (the process module's Windows
        // section: without a status page such a cancel may kill instead).
        #[cfg(unix)]
        Case {
            name: "cancel_before_start_skips_without_killing",
            run: cancel_before_start_skips_without_killing,
        },
    ]);
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// Creates `path`, then sleeps `ms`: the file says the task really started.
fn mark_then_nap((path, ms): (PathBuf, u64)) -> u64 {
    std::fs::write(&path, b"started").unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn marker(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("tulip-kill-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

fn timeout_kills_and_replaces_the_worker() {
    let pool =
        ProcessPool::builder().max_workers(1).task_timeout(Duration::from_millis(300)).build().unwrap();
    let before = pool.submit(pid, ()).unwrap().wait().unwrap();
    let t = Instant::now();
    assert_eq!(pool.submit(nap, 60_000).unwrap().wait(), Err(JobError::TimedOut(Duration::from_millis(300))));
    assert!(t.elapsed() < Duration::from_secs(10), "took {:?}", t.elapsed());
    let after = pool.submit(pid, ()).unwrap().wait().unwrap();
    assert_ne!(before, after);
    assert!(!harness::pid_exists(before), "the killed worker was reaped");
    let s = pool.stats();
    assert_eq!(s.failed, 1);
    assert_eq!(s.worker_deaths, 0, "a kill by the pool is not a death");
}

fn timeout_counts_from_the_start_of_the_task() {
    let pool =
        ProcessPool::builder().max_workers(1).task_timeout(Duration::from_millis(1500)).build().unwrap();
    // Each runs 500 ms; the last waits 1.5 s first. None may time out.
    let futs: Vec<_> = (0..4).map(|_| pool.submit(nap, 500).unwrap()).collect();
    for f in futs {
        assert_eq!(f.wait(), Ok(500));
    }
}

fn cancel_kills_a_running_task() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let before = pool.submit(pid, ()).unwrap().wait().unwrap();
    let m = marker("running");
    let fut = pool.submit(mark_then_nap, (m.clone(), 60_000)).unwrap();
    harness::eventually(Duration::from_secs(5), "the task starts", || m.exists());
    assert!(fut.cancel());
    let t = Instant::now();
    assert_eq!(fut.wait(), Err(JobError::Cancelled));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_ne!(pool.submit(pid, ()).unwrap().wait().unwrap(), before, "the worker was replaced");
    assert!(!harness::pid_exists(before), "the killed worker was reaped");
    assert_eq!(pool.stats().cancelled, 1);
    let _ = std::fs::remove_file(m);
}

#[cfg(unix)]
fn cancel_before_start_skips_without_killing() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    // Short tasks make the pool send several tasks ahead to the worker.
    for _ in 0..20 {
        pool.submit(nap, 0).unwrap().wait().unwrap();
    }
    let worker = pool.submit(pid, ()).unwrap().wait().unwrap();
    let (m1, m2) = (marker("first"), marker("second"));
    let first = pool.submit(mark_then_nap, (m1.clone(), 300)).unwrap();
    let second = pool.submit(mark_then_nap, (m2.clone(), 0)).unwrap();
    harness::eventually(Duration::from_secs(5), "the first task starts", || m1.exists());
    // Both were sent: the second waits inside the worker, behind the first.
    harness::eventually(Duration::from_secs(5), "both tasks are sent", || pool.stats().running == 2);
    assert!(second.cancel());
    assert_eq!(second.wait(), Err(JobError::Cancelled));
    assert_eq!(first.wait(), Ok(300));
    assert!(!m2.exists(), "the cancelled task ran");
    assert_eq!(pool.submit(pid, ()).unwrap().wait().unwrap(), worker, "the worker was killed");
    let _ = std::fs::remove_file(m1);
}
