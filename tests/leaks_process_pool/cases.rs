#[path = "../support/census.rs"]
mod census;
#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::Case;
use tulip::{JobError, ProcessPool, SubmitError};

const CYCLES: u32 = 200;

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "process_pool_cycles_leak_no_fds_threads_children_or_zombies",
        run: process_pool_cycles_leak_no_fds_threads_children_or_zombies,
    }]);
}

fn double(x: u32) -> u32 {
    x * 2
}

/// Panics without running the panic hook, so the test's output stays readable.
fn boom(_: ()) -> u32 {
    std::panic::resume_unwind(Box::new("boom"))
}

fn crash(_: ()) -> u32 {
    std::process::abort()
}

fn process_pool_cycles_leak_no_fds_threads_children_or_zombies() {
    // The first pool starts the process-wide spawner thread, which lives as long as the process by
    // design (src/process_pool/driver.rs): one warm-up cycle, then the baseline.
    let warm = ProcessPool::builder().max_workers(1).build().unwrap();
    assert_eq!(warm.submit(double, 1).unwrap().wait(), Ok(2));
    warm.shutdown_timeout(Duration::MAX);
    drop(warm);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while census::children() != (0, 0) {
        assert!(std::time::Instant::now() < deadline, "the warm-up pool's worker was not reaped");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let baseline = census::take();
    for i in 0..CYCLES {
        match i % 4 {
            // Plain use and a panicking task, graceful shutdown.
            0 => {
                let pool = ProcessPool::builder().max_workers(2).build().unwrap();
                let a = pool.submit(double, i).unwrap();
                let b = pool.submit(boom, ()).unwrap();
                assert_eq!(a.wait(), Ok(i * 2));
                assert!(matches!(b.wait(), Err(JobError::Panicked(_))));
                pool.shutdown_timeout(Duration::MAX);
                assert!(matches!(pool.submit(double, 1), Err(SubmitError::ShutDown)));
            }
            // Warm workers, dropped without a shutdown: they exit and are reaped after the drop.
            1 => {
                let pool = ProcessPool::builder().max_workers(2).min_workers(2).build().unwrap();
                assert_eq!(pool.submit(double, i).unwrap().wait(), Ok(i * 2));
                drop(pool);
            }
            // A worker that crashes, then a shutdown with a deadline.
            2 => {
                let pool = ProcessPool::builder().max_workers(1).build().unwrap();
                assert!(matches!(pool.submit(crash, ()).unwrap().wait(), Err(JobError::WorkerDied(_))));
                assert_eq!(pool.submit(double, i).unwrap().wait(), Ok(i * 2));
                assert!(pool.shutdown_timeout(Duration::from_secs(10)).is_complete());
            }
            // map, then a shutdown that ends what is left at once.
            _ => {
                let pool = ProcessPool::builder().max_workers(2).build().unwrap();
                let out: Result<Vec<u32>, _> = pool.map(double, 0..10).chunksize(3).collect();
                assert_eq!(out.unwrap(), (0..10).map(|x| x * 2).collect::<Vec<_>>());
                pool.shutdown_timeout(Duration::ZERO);
            }
        }
        if i == CYCLES / 2 - 1 {
            census::settles("process pools, halfway", baseline);
        }
    }
    census::settles("process pools, at the end", baseline);
}
