//! A lookup finishes while every thread of a busy pool is blocked and more jobs queue behind them:
//! resolution runs on its own lane, never behind user work.
//!
//! There is no default executor on this branch yet (`run_in_executor(None, ..)`), so a user
//! `ThreadPool` stands in for it; the property is the same: the lookup needs none of its threads.

use std::sync::mpsc;
use std::time::Duration;

use tulip::dns::Hints;
use tulip::ThreadPool;

#[test]
fn lookup_completes_while_the_pool_is_saturated() {
    let workers = 8;
    let pool = ThreadPool::builder().max_workers(workers).build().unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = std::sync::Arc::new(std::sync::Mutex::new(release_rx));
    let (started_tx, started_rx) = mpsc::channel();
    // Every worker blocks until the lookup is done; more jobs wait in the queue behind them.
    let jobs: Vec<_> = (0..workers * 4)
        .map(|_| {
            let (rx, started) = (release_rx.clone(), started_tx.clone());
            pool.submit(move || {
                let _ = started.send(());
                let _ = rx.lock().unwrap().recv();
            })
            .unwrap()
        })
        .collect();
    for _ in 0..workers {
        started_rx.recv_timeout(Duration::from_secs(10)).expect("workers start");
    }
    assert_eq!(pool.stats().active, workers);
    assert!(pool.stats().queued > 0);

    let addrs = tulip::run(async {
        let lp = tulip::get_running_loop();
        // Liveness bound only: if the lookup needed the saturated pool it would never finish.
        lp.getaddrinfo_timeout("localhost", 80, Hints::default(), Duration::from_secs(10)).await
    })
    .unwrap();
    assert!(addrs.iter().any(|a| a.addr.ip().is_loopback()));
    assert_eq!(pool.stats().active, workers, "the pool was still saturated during the lookup");

    for _ in 0..workers * 4 {
        let _ = release_tx.send(());
    }
    for j in jobs {
        j.wait().unwrap();
    }
}
