//! Process pool: tasks already sent behind a task that turns out long are taken back from its
//! worker and run by another one (issue 11, item 9: with pipelining up to 512 deep, half of 600
//! tiny tasks waited behind one long task while the other worker idled).

#[path = "support/process_harness.rs"]
mod harness;
#[path = "support/pp_tasks.rs"]
mod tasks;

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::{eventually, Case};
use tasks::{mark_then_nap, marker, one};
use tulip::{JobError, ProcessPool};

const LIVE: Duration = Duration::from_secs(10);
const TINY: u32 = 300;

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "tiny_tasks_sent_behind_a_long_one_are_taken_back",
        run: tiny_tasks_sent_behind_a_long_one_are_taken_back,
    }]);
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
    // Tiny tasks measured: the pool pipelines deeply.
    let warm: Vec<_> = (0..2000).map(|i| pool.submit(one, i).unwrap()).collect();
    for f in warm {
        f.wait().unwrap();
    }
    let dir = marker("take-back-dir");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let started = marker("take-back-long");
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
