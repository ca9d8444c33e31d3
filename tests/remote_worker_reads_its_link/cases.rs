#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::Case;
use tulip::process::Launcher;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case {
            name: "frames_read_during_a_long_task_keep_their_order",
            run: frames_read_during_a_long_task_keep_their_order,
        },
        Case {
            name: "a_worker_killed_amid_cut_frames_is_followed_on_the_same_link",
            run: a_worker_killed_amid_cut_frames_is_followed_on_the_same_link,
        },
    ]);
}

/// A worker whose nanny is this very program, started by `sh` as a launcher would.
fn pool() -> ProcessPool {
    let launcher = Launcher::command(["sh", "-c", "exec \"$@\"", "sh"]);
    ProcessPool::builder().launcher(launcher).max_workers(1).build().unwrap()
}

/// Sleeps for `ms` milliseconds: long enough for the link watcher to read what comes meanwhile.
fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// The sum of the bytes and the tag.
fn sum(args: (u64, Vec<u8>)) -> u64 {
    args.0 + args.1.iter().map(|&b| b as u64).sum::<u64>()
}

/// Arguments for task `i`: `len` bytes that depend on `i`.
fn bytes(i: u64, len: usize) -> (u64, Vec<u8>) {
    (i, (0..len).map(|k| (k as u64 * 7 + i) as u8).collect())
}

/// Small enough that many are sent in the time a task takes to count as long.
fn small(i: u64) -> (u64, Vec<u8>) {
    bytes(i, 100)
}

/// Large enough that a pipe fills in the middle of one.
fn large(i: u64) -> (u64, Vec<u8>) {
    bytes(i, 40 * 1024)
}

/// Runs enough tiny tasks that the pool sends a busy worker many tasks ahead (see `dispatch`).
fn warm_up(pool: &ProcessPool) {
    for i in 0..200 {
        assert_eq!(pool.submit(sum, (i, Vec::new())).unwrap().wait(), Ok(i));
    }
}

/// Waits for `f` with a generous bound, naming `what` if it does not end.
fn settle<T: Send + 'static>(mut f: tulip::ConcurrentFuture<T>, what: &str) -> Result<T, JobError> {
    f.wait_timeout(Duration::from_secs(30)).unwrap_or_else(|| panic!("{what} never ended"))
}

fn frames_read_during_a_long_task_keep_their_order() {
    let pool = pool();
    warm_up(&pool);
    let long = pool.submit(nap, 500).unwrap();
    // Sent behind the long task before it counts as long (see `dispatch`): on the link while it
    // runs, for the watcher to read.
    let futs: Vec<_> = (0..20).map(|i| (i, pool.submit(sum, small(i)).unwrap())).collect();
    std::thread::sleep(Duration::from_millis(100));
    // A `Cancel` frame, read by the watcher too.
    assert!(futs[7].1.cancel(), "cancelled before it started");
    assert_eq!(settle(long, "the long task"), Ok(500));
    for (i, f) in futs {
        let got = settle(f, &format!("task {i}"));
        if i == 7 {
            assert!(matches!(got, Err(JobError::Cancelled)), "task 7 was cancelled: {got:?}");
        } else {
            assert_eq!(got, Ok(sum(small(i))), "task {i}");
        }
    }
    assert_eq!(pool.stats().worker_deaths, 0);
}

fn a_worker_killed_amid_cut_frames_is_followed_on_the_same_link() {
    let pool = pool();
    warm_up(&pool);
    let (worker, nanny) = pool.submit(pids, ()).unwrap().wait().unwrap();
    // SAFETY: signals the worker this test started and knows the pid of.
    unsafe { libc::kill(worker, libc::SIGSTOP) };
    // Sent to the (stopped) idle worker: they pile up in its link unread, cut where the pipe filled.
    let futs: Vec<_> = (0..40).map(|i| (i, pool.submit(sum, large(i)).unwrap())).collect();
    // Time for the pool to write what the link takes (the checks below hold however much that is).
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: as above.
    unsafe { libc::kill(worker, libc::SIGKILL) };
    // It started none of them: all are sent again to the next worker, on the same link.
    for (i, f) in futs {
        assert_eq!(settle(f, &format!("task {i}")), Ok(sum(large(i))), "task {i}");
    }
    let (next, same_nanny) = pool.submit(pids, ()).unwrap().wait().unwrap();
    assert_ne!(next, worker);
    assert_eq!(same_nanny, nanny, "the next worker came on the same link");
}

/// This worker's pid and its parent's (the nanny's).
fn pids(_: ()) -> (i32, i32) {
    // SAFETY: getpid and getppid have no preconditions.
    unsafe { (libc::getpid(), libc::getppid()) }
}
