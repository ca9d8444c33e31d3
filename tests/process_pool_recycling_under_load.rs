//! Process pool: a worker that reaches `max_tasks_per_child` in the middle of a dispatch round takes
//! no more, and the tasks of that round it cannot take wait for the next worker instead of being
//! lost (every one of many pipelined tasks completes).

#[cfg(windows)]
fn main() {
    println!("skipped on Windows: the process pool is Unix-only for now (README, Platforms)");
}

#[cfg(unix)]
#[path = "support/process_harness.rs"]
mod harness;
#[cfg(unix)]
#[path = "support/pp_tasks.rs"]
mod tasks;

#[cfg(unix)]
use std::time::Duration;

#[cfg(unix)]
use harness::Case;
#[cfg(unix)]
use tasks::one;
#[cfg(unix)]
use tulip::ProcessPool;

#[cfg(unix)]
fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "tasks_outlive_their_workers_recycling_mid_round",
        run: tasks_outlive_their_workers_recycling_mid_round,
    }]);
}

#[cfg(unix)]
fn tasks_outlive_their_workers_recycling_mid_round() {
    let pool = ProcessPool::builder().max_workers(2).max_tasks_per_child(50).build().unwrap();
    for round in 0..3 {
        let futs: Vec<_> = (0..1000).map(|i| pool.submit(one, i).unwrap()).collect();
        for (i, mut f) in futs.into_iter().enumerate() {
            let got = f.wait_timeout(Duration::from_secs(20));
            assert_eq!(got, Some(Ok(i as u32 + 1)), "round {round}, task {i}");
        }
    }
    assert!(pool.stats().workers_started >= 60);
}
