#[path = "../support/process_harness.rs"]
mod harness;

use std::path::PathBuf;
use std::time::Duration;

use harness::Case;
use tulip::{BuildError, JobError, ProcessPool, SubmitError};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "workers_are_recycled_after_max_tasks", run: workers_are_recycled_after_max_tasks },
        Case { name: "idle_workers_are_pruned", run: idle_workers_are_pruned },
        Case { name: "min_workers_stay_warm", run: min_workers_stay_warm },
        Case { name: "shutdown_wait_finishes_work_and_reaps", run: shutdown_wait_finishes_work_and_reaps },
        Case {
            name: "shutdown_timeout_zero_ends_everything_now",
            run: shutdown_timeout_zero_ends_everything_now,
        },
        Case {
            name: "shutdown_timeout_kills_after_the_deadline",
            run: shutdown_timeout_kills_after_the_deadline,
        },
        Case {
            name: "shutdown_without_wait_finishes_in_background",
            run: shutdown_without_wait_finishes_in_background,
        },
        Case {
            name: "drop_of_the_last_handle_finishes_the_work_then_reaps",
            run: drop_of_the_last_handle_finishes_the_work_then_reaps,
        },
        Case { name: "invalid_settings_are_refused", run: invalid_settings_are_refused },
    ]);
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn nap_pid(ms: u64) -> u32 {
    std::thread::sleep(Duration::from_millis(ms));
    std::process::id()
}

fn mark_then_nap((path, ms): (PathBuf, u64)) -> u32 {
    std::fs::write(&path, b"started").unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    std::process::id()
}

fn marker(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("tulip-life-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// Gone means reaped: not even a zombie is left (a zombie still answers `kill(pid, 0)`).
fn assert_reaped(pids: impl IntoIterator<Item = u32>) {
    for p in pids {
        assert!(!harness::pid_exists(p), "worker {p} is still there (alive or zombie)");
    }
}

fn workers_are_recycled_after_max_tasks() {
    let pool = ProcessPool::builder().max_workers(1).max_tasks_per_child(3).build().unwrap();
    let pids: Vec<u32> = (0..9).map(|_| pool.submit(pid, ()).unwrap().wait().unwrap()).collect();
    for group in pids.chunks(3) {
        assert!(group.iter().all(|p| *p == group[0]), "{pids:?}");
    }
    assert!(pids[0] != pids[3] && pids[3] != pids[6] && pids[0] != pids[6], "{pids:?}");
    harness::eventually(Duration::from_secs(5), "retired workers are reaped", || {
        !harness::pid_exists(pids[0]) && !harness::pid_exists(pids[3])
    });
    assert_eq!(pool.stats().worker_deaths, 0);
}

fn idle_workers_are_pruned() {
    let pool =
        ProcessPool::builder().max_workers(2).idle_timeout(Duration::from_millis(100)).build().unwrap();
    let first = pool.submit(pid, ()).unwrap().wait().unwrap();
    harness::eventually(Duration::from_secs(5), "the idle worker exits", || pool.stats().workers == 0);
    assert_reaped([first]);
    // A new worker starts on demand.
    let second = pool.submit(pid, ()).unwrap().wait().unwrap();
    assert_ne!(first, second);
}

fn min_workers_stay_warm() {
    let pool = ProcessPool::builder()
        .max_workers(3)
        .min_workers(2)
        .idle_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    harness::eventually(Duration::from_secs(5), "two workers start", || pool.stats().idle == 2);
    // Let several idle timeouts pass: none of the two may go.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(pool.stats().workers, 2);
    assert_eq!(pool.stats().workers_started, 2);
}

fn shutdown_wait_finishes_work_and_reaps() {
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    let futs: Vec<_> = (0..6).map(|_| pool.submit(nap_pid, 30).unwrap()).collect();
    pool.shutdown_timeout(Duration::MAX);
    let pids: Vec<u32> = futs.into_iter().map(|f| f.wait().unwrap()).collect();
    assert_reaped(pids);
    assert_eq!(pool.stats().workers, 0);
    assert!(matches!(pool.submit(pid, ()), Err(SubmitError::ShutDown)));
}

fn shutdown_timeout_zero_ends_everything_now() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let m = marker("zero");
    let running = pool.submit(mark_then_nap, (m.clone(), 60_000)).unwrap();
    let queued: Vec<_> = (0..5).map(|_| pool.submit(nap_pid, 0).unwrap()).collect();
    harness::eventually(Duration::from_secs(5), "the first task starts", || m.exists());
    let report = pool.shutdown_timeout(Duration::ZERO);
    assert_eq!((report.cancelled, report.still_running), (5, 1));
    assert_eq!(running.wait(), Err(JobError::ShutDown));
    for f in queued {
        assert_eq!(f.wait(), Err(JobError::ShutDown));
    }
    assert_eq!(pool.stats().workers, 0);
    let _ = std::fs::remove_file(m);
}

fn shutdown_timeout_kills_after_the_deadline() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let worker = pool.submit(pid, ()).unwrap().wait().unwrap();
    let stuck = pool.submit(nap_pid, 60_000).unwrap();
    let report = pool.shutdown_timeout(Duration::from_millis(200));
    assert_eq!((report.cancelled, report.still_running), (0, 1));
    assert_eq!(stuck.wait(), Err(JobError::ShutDown));
    assert_reaped([worker]);
    // A pool with nothing left to do shuts down in time.
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let f = pool.submit(nap_pid, 10).unwrap();
    assert!(pool.shutdown_timeout(Duration::from_secs(10)).is_complete());
    assert_reaped([f.wait().unwrap()]);
}

fn shutdown_without_wait_finishes_in_background() {
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    let futs: Vec<_> = (0..4).map(|_| pool.submit(nap_pid, 50).unwrap()).collect();
    pool.shutdown();
    drop(pool);
    let pids: Vec<u32> = futs.into_iter().map(|f| f.wait().unwrap()).collect();
    harness::eventually(Duration::from_secs(5), "workers are reaped", || {
        pids.iter().all(|p| !harness::pid_exists(*p))
    });
}

/// Marks `started`, then waits until `release` exists; returns the worker's pid.
fn mark_then_wait_for((started, release): (PathBuf, PathBuf)) -> u32 {
    std::fs::write(started, b"started").unwrap();
    while !release.exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::process::id()
}

fn drop_of_the_last_handle_finishes_the_work_then_reaps() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let worker = pool.submit(pid, ()).unwrap().wait().unwrap();
    let clone = pool.clone();
    let (started, release) = (marker("drop-started"), marker("drop-release"));
    let running = pool.submit(mark_then_wait_for, (started.clone(), release.clone())).unwrap();
    let queued = pool.submit(nap_pid, 0).unwrap();
    harness::eventually(Duration::from_secs(5), "the task starts", || started.exists());
    // Another handle is alive: the pool goes on.
    drop(pool);
    assert!(!clone.is_shut_down());
    // The last handle: a graceful shutdown that returns while the task still runs (it waits for
    // `release`, written only once the drop has returned).
    let dropper = std::thread::spawn(move || drop(clone));
    harness::eventually(Duration::from_secs(5), "the drop returns", || dropper.is_finished());
    std::fs::write(&release, b"go").unwrap();
    assert_eq!(running.wait(), Ok(worker));
    assert_eq!(queued.wait(), Ok(worker));
    harness::eventually(Duration::from_secs(5), "the worker is reaped", || !harness::pid_exists(worker));
    let _ = (std::fs::remove_file(started), std::fs::remove_file(release));
}

fn invalid_settings_are_refused() {
    let bad = |b: tulip::ProcessPoolBuilder| matches!(b.build(), Err(BuildError::InvalidConfig(_)));
    assert!(bad(ProcessPool::builder().max_workers(0)));
    assert!(bad(ProcessPool::builder().max_workers(1).min_workers(2)));
    assert!(bad(ProcessPool::builder().max_tasks_per_child(0)));
    assert!(bad(ProcessPool::builder().task_timeout(Duration::ZERO)));
    assert!(bad(ProcessPool::builder().idle_timeout(Duration::ZERO)));
    assert!(bad(ProcessPool::builder().max_frame_size(10)));
    assert!(bad(ProcessPool::builder().queue_capacity(0)));
}
