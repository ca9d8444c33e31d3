use tulip::ProcessPool;

/// The process-pool case; calls `tulip::process::init()`, so `main` calls this first.
fn process_half() -> Vec<Case> {
    tulip::process::init();
    vec![Case { name: "process_pool_yields_every_result_once", run: process_pool_yields_every_result_once }]
}

fn square(x: u64) -> u64 {
    x * x
}

fn process_pool_yields_every_result_once() {
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    let mut out: Vec<u64> = tulip::run(async move {
        let jobs = (0..200u64).map(|i| (square as fn(u64) -> u64, i));
        map_unordered(&pool, jobs, 16).map(Result::unwrap).collect().await
    });
    out.sort_unstable();
    assert_eq!(out, (0..200u64).map(square).collect::<Vec<_>>());
}
