use std::time::Duration;

#[path = "../support/census.rs"]
mod census;

// One test in this file: it counts the process's threads.
#[test]
fn run_waits_for_the_default_executor_and_its_threads_exit() {
    let before = census::take();
    let (tx, rx) = std::sync::mpsc::channel();
    tulip::run(async move {
        let lp = tulip::get_running_loop();
        let pool = lp.default_executor().unwrap();
        let futs: Vec<_> = (0..4)
            .map(|_| {
                let tx = tx.clone();
                lp.run_in_executor(None, move || {
                    std::thread::sleep(Duration::from_millis(30));
                    tx.send(()).unwrap();
                })
            })
            .collect();
        while pool.stats().running < 4 {
            tulip::sleep(Duration::from_millis(1)).await;
        }
        // Returning drops the futures: the four running jobs are abandoned, not awaited.
        drop(futs);
    });
    assert_eq!(rx.try_iter().count(), 4, "run() let the running jobs finish before returning");
    // A joined thread can stay listed in /proc for a moment after `join` returned: the kernel
    // wakes the joiner before it removes the thread, so the count is awaited (bounded).
    census::settles("no executor thread left", before);
}
