use tulip::{JobError, ThreadPool};

fn unstartable_pool() -> ThreadPool {
    ThreadPool::builder().max_workers(2).stack_size(1 << 50).build().unwrap()
}

fn assert_spawn_error<T: std::fmt::Debug>(outcome: Result<T, JobError>) {
    match outcome {
        Err(JobError::Spawn(msg)) => assert!(!msg.is_empty()),
        other => panic!("expected JobError::Spawn, got {other:?}"),
    }
}

#[test]
fn submit_reports_the_spawn_error() {
    let pool = unstartable_pool();
    // Not a refusal (the pool takes jobs): the job's own outcome.
    assert_spawn_error(pool.submit(|| 1).expect("submit accepts the job").wait());
}

#[test]
fn map_yields_the_spawn_error() {
    let pool = unstartable_pool();
    let mut results = pool.map(|x: u32| x + 1, [1, 2]);
    assert_spawn_error(results.next().unwrap());
}

#[test]
fn run_in_executor_completes_with_the_spawn_error() {
    let pool = unstartable_pool();
    let outcome = tulip::run(async move {
        let lp = tulip::get_running_loop();
        lp.run_in_executor(Some(&pool), || 1).await
    });
    assert_spawn_error(outcome);
    let err = JobError::Spawn("Resource temporarily unavailable".into());
    assert_eq!(
        err.to_string(),
        "no thread could be started to run the job: Resource temporarily unavailable"
    );
}
