//! A lookup finishes while every thread of the default executor is blocked and more jobs queue behind
//! them: resolution runs on its own lane, never behind user work (CPython gh-112169 is the bug this
//! pins).

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tulip::dns::Hints;

#[test]
fn lookup_completes_while_the_default_executor_is_saturated() {
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let workers = lp.default_executor().unwrap().max_workers();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let (started_tx, started_rx) = mpsc::channel();
        // Every worker blocks until the lookup is done; more jobs wait in the queue behind them.
        let jobs: Vec<_> = (0..workers * 4)
            .map(|_| {
                let (rx, started) = (release_rx.clone(), started_tx.clone());
                lp.run_in_executor(None, move || {
                    let _ = started.send(());
                    let _ = rx.lock().unwrap().recv();
                })
            })
            .collect();
        for _ in 0..workers {
            started_rx.recv_timeout(Duration::from_secs(10)).expect("workers start");
        }
        let stats = lp.default_executor().unwrap().stats();
        assert_eq!(stats.running, workers);
        assert!(stats.queued > 0);

        // Liveness bound only: if the lookup needed the saturated pool it would never finish.
        let addrs = lp.getaddrinfo_timeout("localhost", 80, Hints::default(), Duration::from_secs(10)).await;
        let addrs = addrs.expect("the lookup does not wait for the executor");
        assert!(addrs.iter().any(|a| a.addr.ip().is_loopback()));
        assert_eq!(
            lp.default_executor().unwrap().stats().running,
            workers,
            "still saturated during the lookup"
        );

        for _ in 0..workers * 4 {
            let _ = release_tx.send(());
        }
        for j in jobs {
            j.await.unwrap();
        }
    });
}
