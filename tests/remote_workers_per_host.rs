//! `Launcher::workers_per_host(n)`: one launcher entry holds at most `n` workers at once, however
//! many the pool's `max_workers` allows and however many tasks wait.

#[cfg(windows)]
fn main() {
    println!(
        "skipped on Windows: remote workers are process-pool workers, Unix-only for now (README, Platforms)"
    );
}

#[cfg(unix)]
#[path = "support/process_harness.rs"]
mod harness;

#[cfg(unix)]
use std::collections::HashSet;
#[cfg(unix)]
use std::time::Duration;

#[cfg(unix)]
use harness::Case;
#[cfg(unix)]
use tulip::process::Launcher;
#[cfg(unix)]
use tulip::ProcessPool;

#[cfg(unix)]
fn main() {
    tulip::process::init();
    harness::run(&[Case { name: "a_host_holds_at_most_its_workers", run: a_host_holds_at_most_its_workers }]);
}

#[cfg(unix)]
fn slow_pid(_: ()) -> u32 {
    std::thread::sleep(Duration::from_millis(20));
    std::process::id()
}

#[cfg(unix)]
fn a_host_holds_at_most_its_workers() {
    let launcher = Launcher::command(["sh", "-c", "exec \"$@\"", "sh"]).workers_per_host(2);
    let pool = ProcessPool::builder().launcher(launcher).max_workers(6).min_workers(4).build().unwrap();
    let futs: Vec<_> = (0..60).map(|_| pool.submit(slow_pid, ()).unwrap()).collect();
    let mut most = 0;
    let pids: HashSet<u32> = futs
        .into_iter()
        .map(|f| {
            most = most.max(pool.stats().workers);
            f.wait().unwrap()
        })
        .collect();
    assert!(most <= 2, "at most two workers at once, saw {most}");
    assert_eq!(pids.len(), 2, "both workers of the host served tasks: {pids:?}");
}
