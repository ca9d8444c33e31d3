#[path = "../support/census.rs"]
mod census;

use std::time::Duration;

use tulip::{JobError, SubmitError, ThreadPool};

#[test]
fn thread_pool_cycles_leak_no_fds_or_threads() {
    std::panic::set_hook(Box::new(|_| {}));
    let baseline = census::take();
    for i in 0..200u64 {
        match i % 5 {
            // Plain use, one panicking job, graceful shutdown.
            0 => {
                let pool = ThreadPool::builder().max_workers(4).build().unwrap();
                let futs: Vec<_> = (0..8u64).map(|j| pool.submit(move || j * i).unwrap()).collect();
                let boom = pool.submit(|| -> u64 { panic!("boom") }).unwrap();
                for (j, f) in futs.into_iter().enumerate() {
                    assert_eq!(f.wait(), Ok(j as u64 * i));
                }
                assert!(matches!(boom.wait(), Err(JobError::Panicked(_))));
                pool.shutdown_timeout(std::time::Duration::MAX);
                assert!(matches!(pool.submit(|| 0), Err(SubmitError::ShutDown)));
            }
            // An initializer, and a pool that is only dropped (its threads leave on their own).
            1 => {
                let pool = ThreadPool::builder()
                    .max_workers(2)
                    .thread_name_prefix("leak")
                    .initializer(|| Ok::<_, String>(()))
                    .build()
                    .unwrap();
                assert_eq!(pool.submit(|| 2).unwrap().wait(), Ok(2));
                drop(pool);
            }
            // Shutdown with a deadline while a job is queued behind a running one.
            2 => {
                let pool = ThreadPool::builder().max_workers(1).build().unwrap();
                let (tx, rx) = std::sync::mpsc::channel::<()>();
                let running = pool.submit(move || rx.recv().is_ok()).unwrap();
                let queued = pool.submit(|| 1).unwrap();
                while pool.stats().running == 0 {
                    std::thread::yield_now();
                }
                assert_eq!(pool.shutdown_timeout(Duration::from_millis(1)).still_running, 1);
                assert_eq!(queued.wait(), Err(JobError::ShutDown));
                tx.send(()).unwrap();
                assert_eq!(running.wait(), Ok(true));
                assert!(pool.shutdown_timeout(Duration::from_secs(10)).is_complete());
            }
            // map, a bounded queue and try_submit.
            3 => {
                let pool = ThreadPool::builder().max_workers(3).queue_capacity(4).build().unwrap();
                let squares: Result<Vec<u64>, _> = pool.map(|x: u64| x * x, 0..20).collect();
                assert_eq!(squares.unwrap().len(), 20);
                let _ = pool.try_submit(|| ());
                pool.shutdown_timeout(Duration::ZERO);
                pool.shutdown_timeout(Duration::MAX);
            }
            // A loop's default executor, created by to_thread and shut down by tulip::run.
            _ => {
                let n = tulip::run(async move {
                    let a = tulip::to_thread(move || i).await.unwrap();
                    let lp = tulip::get_running_loop();
                    let b = lp.run_in_executor(None, || 1).await.unwrap();
                    a + b
                });
                assert_eq!(n, i + 1);
            }
        }
        if i == 99 {
            census::settles("thread pools, after 100 cycles", baseline);
        }
    }
    census::settles("thread pools, after 200 cycles", baseline);
    let _ = std::panic::take_hook();
}
