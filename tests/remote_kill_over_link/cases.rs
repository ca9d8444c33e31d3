#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::{eventually, Case};
use tulip::process::Launcher;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_timeout_is_killed_over_the_link_without_a_new_launch",
        run: a_timeout_is_killed_over_the_link_without_a_new_launch,
    }]);
}

/// Writes this worker's pid to `path`, then sleeps far longer than any test.
fn park(path: String) -> u32 {
    std::fs::write(&path, std::process::id().to_string()).unwrap();
    std::thread::sleep(Duration::from_secs(600));
    0
}

fn cube(x: i64) -> i64 {
    x * x * x
}

/// Whether `pid` runs (a zombie does not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

fn a_timeout_is_killed_over_the_link_without_a_new_launch() {
    let base = std::env::temp_dir().join(format!("tulip-kill-link-{}", std::process::id()));
    let (count, pid_file) = (base.with_extension("launches"), base.with_extension("pid"));
    let _ = std::fs::remove_file(&count);
    let script = format!("echo launch >> '{}'; exec \"$@\"", count.display());
    let pool = ProcessPool::builder()
        .launcher(Launcher::command(["sh", "-c", &script, "sh"]))
        .max_workers(1)
        .task_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let fut = pool.submit(park, pid_file.display().to_string()).unwrap();
    assert!(matches!(fut.wait(), Err(JobError::TimedOut(_))));
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    eventually(Duration::from_secs(10), "the timed-out worker is gone", || !running(pid));
    assert_eq!(pool.submit(cube, 3).unwrap().wait(), Ok(27), "the pool serves the next task");
    let launches = std::fs::read_to_string(&count).unwrap().lines().count();
    let _ = std::fs::remove_file(&count);
    let _ = std::fs::remove_file(&pid_file);
    assert_eq!(launches, 1, "the kill and the next worker used the first link");
    assert_eq!(pool.stats().worker_deaths, 0, "a kill by the pool is not a death");
}
