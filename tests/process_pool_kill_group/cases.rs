#[path = "../support/process_harness.rs"]
mod harness;

use std::path::PathBuf;
use std::time::Duration;

use harness::Case;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_timed_out_task_leaves_no_grandchild",
        run: a_timed_out_task_leaves_no_grandchild,
    }]);
}

/// Starts `sleep 30`, notes its pid in `path`, then waits far past the pool's timeout (the kill
/// ends it first; the sleep is reaped by whoever inherits it).
#[allow(clippy::zombie_processes)]
fn start_sleep_and_hang(path: PathBuf) -> u32 {
    let sleep = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    std::fs::write(&path, sleep.id().to_string()).unwrap();
    std::thread::sleep(Duration::from_secs(60));
    sleep.id()
}

/// Whether `pid` is a running (not zombie) `sleep`.
fn sleep_runs(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let Some((head, tail)) = stat.rsplit_once(") ") else { return false };
    head.ends_with("(sleep") && !tail.starts_with('Z') && !tail.starts_with('X')
}

fn a_timed_out_task_leaves_no_grandchild() {
    let path = std::env::temp_dir().join(format!("tulip-kill-group-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let pool =
        ProcessPool::builder().max_workers(1).task_timeout(Duration::from_millis(500)).build().unwrap();
    let r = pool.submit(start_sleep_and_hang, path.clone()).unwrap().wait();
    assert_eq!(r, Err(JobError::TimedOut(Duration::from_millis(500))));
    let pid: u32 = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let _ = std::fs::remove_file(&path);
    harness::eventually(Duration::from_secs(10), "the task's `sleep 30` is gone", || !sleep_runs(pid));
}
