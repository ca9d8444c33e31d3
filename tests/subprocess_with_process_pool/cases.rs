#[path = "../support/process_harness.rs"]
mod harness;

use harness::Case;
use tulip::subprocess::Command;
use tulip::ProcessPool;

fn main() {
    tulip::process::init();
    harness::run(&[Case { name: "pool_and_subprocesses_side_by_side", run: side_by_side }]);
}

fn square(x: u64) -> u64 {
    x * x
}

fn side_by_side() {
    // Recycling after every task makes the pool reap a worker per task.
    let pool = ProcessPool::builder().max_workers(2).max_tasks_per_child(1).build().unwrap();
    let futures: Vec<_> = (0..20u64).map(|i| pool.submit(square, i).unwrap()).collect();
    let codes = tulip::run(async {
        let lp = tulip::get_running_loop();
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                lp.spawn(async move {
                    let script = format!("exit {}", i % 7);
                    Command::new("/bin/sh").args(["-c", &script]).status().await.unwrap().code()
                })
            })
            .collect();
        let mut codes = Vec::new();
        for t in tasks {
            codes.push(t.await.unwrap());
        }
        codes
    });
    assert_eq!(codes, (0..40).map(|i| Some(i % 7)).collect::<Vec<_>>());
    for (i, f) in futures.into_iter().enumerate() {
        assert_eq!(f.wait(), Ok((i * i) as u64));
    }
    let stats = pool.stats();
    assert_eq!(stats.worker_deaths, 0, "{stats:?}");
    pool.shutdown();
}
