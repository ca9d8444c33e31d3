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
    harness::run(&[
        Case { name: "idle_and_task_timeouts_of_duration_max_never_fire", run: timeouts_of_duration_max },
        Case { name: "shutdown_timeout_of_duration_max_is_a_graceful_shutdown", run: shutdown_timeout_max },
    ]);
}

fn timeouts_of_duration_max() {
    let pool = ProcessPool::builder()
        .max_workers(2)
        .idle_timeout(Duration::MAX)
        .task_timeout(Duration::MAX)
        .build()
        .unwrap();
    for i in 0..20 {
        let mut f = pool.submit(one, i).unwrap();
        assert_eq!(f.wait_timeout(Duration::from_secs(10)), Some(Ok(i + 1)));
    }
    assert!(pool.stats().workers >= 1);
    assert_eq!(pool.stats().failed, 0);
}

fn shutdown_timeout_max() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let f = pool.submit(one, 1).unwrap();
    assert!(pool.shutdown_timeout(Duration::MAX).is_complete(), "nothing should have been killed");
    assert_eq!(f.wait(), Ok(2));
}
