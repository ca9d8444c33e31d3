#[path = "../support/process_harness.rs"]
mod harness;
#[path = "../support/pp_tasks.rs"]
mod tasks;

use std::time::Duration;

use harness::Case;
use tasks::one;
use tulip::ProcessPool;

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "tasks_outlive_their_workers_recycling_mid_round",
        run: tasks_outlive_their_workers_recycling_mid_round,
    }]);
}

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
