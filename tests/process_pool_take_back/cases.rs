#[path = "../support/process_harness.rs"]
mod harness;
#[path = "../support/pp_tasks.rs"]
mod tasks;

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::{eventually, Case};
use tasks::{mark_then_nap, marker, nap, one};
use tulip::{JobError, ProcessPool};

const LIVE: Duration = Duration::from_secs(10);
const TINY: u32 = 300;

fn main() {
    tulip::process::init();
    harness::run(&[
        Case {
            name: "tiny_tasks_sent_behind_a_long_one_are_taken_back",
            run: tiny_tasks_sent_behind_a_long_one_are_taken_back,
        },
        Case {
            name: "a_pool_that_can_grow_takes_back_for_a_new_worker",
            run: a_pool_that_can_grow_takes_back_for_a_new_worker,
        },
        Case {
            name: "a_take_back_racing_a_start_runs_the_task_once",
            run: a_take_back_racing_a_start_runs_the_task_once,
        },
    ]);
}

/// Tiny tasks measured: the pool pipelines deeply.
fn warm_up(pool: &ProcessPool) {
    let warm: Vec<_> = (0..2000).map(|i| pool.submit(one, i).unwrap()).collect();
    for f in warm {
        f.wait().unwrap();
    }
}

/// A fresh, empty directory for [`record`].
fn record_dir(name: &str) -> PathBuf {
    let dir = marker(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    dir
}

/// Appends a line to `dir/i` (one per run), returns `i + 1`.
fn record((dir, i): (PathBuf, u32)) -> u32 {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(dir.join(i.to_string())).unwrap();
    f.write_all(b"ran\n").unwrap();
    i + 1
}

/// How many times each of the tasks `0..n` recorded in `dir` ran.
fn runs(dir: &Path, n: u32) -> Vec<usize> {
    let count = |i: u32| std::fs::read_to_string(dir.join(i.to_string())).map_or(0, |s| s.lines().count());
    (0..n).map(count).collect()
}

fn tiny_tasks_sent_behind_a_long_one_are_taken_back() {
    let pool = ProcessPool::builder().max_workers(2).min_workers(2).build().unwrap();
    warm_up(&pool);
    long_then_tiny(&pool, "take-back");
}

/// One worker, warmed up one task at a time (so it stays one): everything is pipelined behind the
/// long task, and what comes back makes the pool start its second worker.
fn a_pool_that_can_grow_takes_back_for_a_new_worker() {
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    for i in 0..2000 {
        assert_eq!(pool.submit(one, i).unwrap().wait(), Ok(i + 1));
    }
    assert_eq!(pool.stats().workers, 1);
    long_then_tiny(&pool, "take-back-grow");
    assert_eq!(pool.stats().workers_started, 2);
}

/// One long task, then tiny ones submitted right after: they all run once, before it ends.
fn long_then_tiny(pool: &ProcessPool, name: &str) {
    let dir = record_dir(&format!("{name}-dir"));
    let started = marker(&format!("{name}-long"));
    // Long enough that tiny tasks left behind it would still be waiting when the others are done.
    let long = pool.submit(mark_then_nap, (started.clone(), 20_000)).unwrap();
    let tiny: Vec<_> = (0..TINY).map(|i| pool.submit(record, (dir.clone(), i)).unwrap()).collect();
    for (i, mut f) in tiny.into_iter().enumerate() {
        assert_eq!(f.wait_timeout(LIVE), Some(Ok(i as u32 + 1)), "tiny task {i} waited behind the long one");
    }
    eventually(LIVE, "the long task starts", || started.exists());
    assert!(!long.is_done());
    assert!(long.cancel());
    assert_eq!(long.wait(), Err(JobError::Cancelled));
    pool.shutdown_timeout(Duration::MAX);
    assert_eq!(runs(&dir, TINY), vec![1; TINY as usize], "a tiny task ran more than once");
    // Taken back is not cancelled: only the long task was.
    assert_eq!(pool.stats().cancelled, 1);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(started);
}

/// Heads that end about when the pipelining budget runs out, so that the take-back of the tasks
/// behind them often races the worker starting the next one; a few hundred times over.
fn a_take_back_racing_a_start_runs_the_task_once() {
    const ROUNDS: u32 = 300;
    const BEHIND: u32 = 12;
    let pool = ProcessPool::builder().max_workers(2).min_workers(2).build().unwrap();
    warm_up(&pool);
    let dir = record_dir("take-back-race");
    for round in 0..ROUNDS {
        let head = pool.submit(nap, 1 + u64::from(round % 3)).unwrap();
        let ids = round * BEHIND..(round + 1) * BEHIND;
        let behind: Vec<_> = ids.map(|i| (i, pool.submit(record, (dir.clone(), i)).unwrap())).collect();
        for (i, mut f) in behind {
            assert_eq!(f.wait_timeout(LIVE), Some(Ok(i + 1)), "task {i} of round {round}");
        }
        assert!(head.wait().is_ok());
    }
    pool.shutdown_timeout(Duration::MAX);
    assert_eq!(runs(&dir, ROUNDS * BEHIND), vec![1; (ROUNDS * BEHIND) as usize], "a task ran twice");
    let stats = pool.stats();
    assert_eq!((stats.cancelled, stats.failed, stats.worker_deaths), (0, 0, 0));
    let _ = std::fs::remove_dir_all(&dir);
}
