#[path = "../support/process_harness.rs"]
mod harness;
#[path = "../support/snapshot_watch.rs"]
mod snapshot_watch;

use std::time::Duration;

use harness::Case;
use snapshot_watch::SnapshotWatch;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "every_ended_task_is_counted_once", run: every_ended_task_is_counted_once },
        Case {
            name: "a_snapshot_counts_each_task_exactly_once",
            run: a_snapshot_counts_each_task_exactly_once,
        },
    ]);
}

fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn boom(_: ()) -> u8 {
    panic!("boom")
}

fn die(_: ()) -> u8 {
    std::process::abort()
}

fn every_ended_task_is_counted_once() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    assert_eq!(pool.submit(nap, 0).unwrap().wait(), Ok(0));
    assert!(matches!(pool.submit(boom, ()).unwrap().wait(), Err(JobError::Panicked(_))));
    assert!(matches!(pool.submit(die, ()).unwrap().wait(), Err(JobError::WorkerDied(_))));
    let limit = Duration::from_millis(50);
    assert_eq!(pool.submit_with_limit(nap, 60_000, limit).unwrap().wait(), Err(JobError::TimedOut(limit)));
    let running = pool.submit(nap, 60_000).unwrap();
    harness::eventually(Duration::from_secs(10), "the task is sent", || pool.stats().running == 1);
    assert!(running.cancel());
    assert_eq!(running.wait(), Err(JobError::Cancelled));
    let s = pool.stats();
    assert_eq!((s.completed, s.failed, s.cancelled), (1, 3, 1), "{s:?}");
    assert_eq!((s.max_workers, s.worker_deaths), (1, 1));
    let stuck = pool.submit(nap, 60_000).unwrap();
    let queued = pool.submit(nap, 0).unwrap();
    let report = pool.shutdown_timeout(Duration::ZERO);
    assert_eq!(report.cancelled + report.still_running, 2, "{report:?}");
    assert_eq!((stuck.wait(), queued.wait()), (Err(JobError::ShutDown), Err(JobError::ShutDown)));
    let s = pool.stats();
    assert_eq!((s.completed, s.failed, s.cancelled), (1, 3, 3), "{s:?}");
    assert_eq!((s.workers, s.idle, s.queued, s.running), (0, 0, 0, 0), "{s:?}");
}

fn add_one(x: u64) -> u64 {
    x + 1
}

/// A task is queued, sent, or ended, and exactly one of them in each snapshot. Findings: a result
/// counted in `completed` was still `running` (`stats()` paired the live counters with the gauges
/// of the driver's previous round), and a task the driver had taken from the queue but not yet
/// published as sent was in neither (`stats()` read the queue itself).
fn a_snapshot_counts_each_task_exactly_once() {
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    let watch = {
        let pool = pool.clone();
        SnapshotWatch::exactly_once(move || pool.stats())
    };
    // One at a time (straight to an idle worker) and in bursts (through the queue).
    for burst in [1, 8].into_iter().cycle().take(600) {
        let futures: Vec<_> = (0..burst)
            .map(|i| {
                watch.submitting();
                let f = pool.submit(add_one, i).unwrap();
                watch.submitted();
                f
            })
            .collect();
        for (i, f) in (0..).zip(futures) {
            assert_eq!(f.wait(), Ok(i + 1));
        }
    }
    watch.finish();
}
