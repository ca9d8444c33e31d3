#[path = "../support/process_harness.rs"]
mod harness;

use std::collections::HashSet;
use std::time::Duration;

use harness::Case;
use tulip::process::Launcher;
use tulip::ProcessPool;

fn main() {
    tulip::process::init();
    harness::run(&[Case { name: "a_host_holds_at_most_its_workers", run: a_host_holds_at_most_its_workers }]);
}

fn slow_pid(_: ()) -> u32 {
    std::thread::sleep(Duration::from_millis(20));
    std::process::id()
}

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
