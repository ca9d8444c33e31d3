use tulip::ProcessPool;

/// The process-pool case; calls `tulip::process::init()`, so `main` calls this first.
fn process_half() -> Vec<Case> {
    tulip::process::init();
    vec![Case { name: "the_same_workload_on_a_process_pool", run: on_processes }]
}

/// A process job that never ends by itself: the pool kills it at its limit.
fn forever(_: ()) {
    loop {
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn on_processes() {
    let pool = ProcessPool::builder()
        .max_workers(2)
        .queue_capacity(16)
        .idle_timeout(Duration::from_secs(10))
        .worker_state(zero)
        .build()
        .unwrap();
    assert_eq!(pool.submit(square, 7).unwrap().wait(), Ok(49));
    assert_eq!(pool.try_submit(square, 8).unwrap().wait(), Ok(64));
    let squares: Result<Vec<u64>, JobError> = pool.map(square, 0..10).in_flight(3).collect();
    assert_eq!(squares.unwrap(), (0..10).map(square).collect::<Vec<_>>());
    for _ in 0..3 {
        let served = pool.submit_with_state(count, ()).unwrap().wait();
        assert!(served.unwrap() >= 1);
    }
    let limited = pool.submit_with_limit(forever, (), LIMIT).unwrap().wait();
    assert_eq!(limited, Err(JobError::TimedOut(LIMIT)));
    let via_loop = tulip::run({
        let pool = pool.clone();
        async move { tulip::get_running_loop().run_in_executor(Some(&pool), (square as fn(u64) -> u64, 6)).await }
    });
    assert_eq!(via_loop, Ok(36));
    assert!(pool.shutdown_timeout(Duration::from_secs(30)).is_complete());
    assert_eq!(pool.submit(square, 1).unwrap_err(), SubmitError::ShutDown);
    check_stats(pool.stats());
}
