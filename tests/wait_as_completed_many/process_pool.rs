use tulip::ProcessPool;

/// The process-pool case; calls `tulip::process::init()`, so `main` calls this first.
fn process_half() -> Vec<Case> {
    tulip::process::init();
    vec![Case { name: "as_completed_yields_10000_process_pool_futures_once_each", run: process_pool }]
}

fn echo(x: u64) -> u64 {
    x
}

fn process_pool() {
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    each_once((0..N).map(|i| pool.submit(echo, i).unwrap()).collect());
}
