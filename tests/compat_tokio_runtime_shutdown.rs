//! The tokio adapter's background runtime is gone once `tulip::run` returns: the thread count is
//! back to where it was. One test in this file, so no other test's threads come and go meanwhile.
#![cfg(feature = "tokio")]

#[path = "support/census.rs"]
mod census;

use census::threads;
use std::time::{Duration, Instant};

#[test]
fn the_background_runtime_stops_when_run_returns() {
    if threads() == 0 {
        println!("notice: /proc/self/task is not readable here; skipped");
        return;
    }
    let baseline = threads();
    for round in 0..2 {
        let during = tulip::run(async {
            tulip::compat::tokio(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                // A task a crate spawned and never ends: shutdown drops it.
                tokio::spawn(std::future::pending::<()>());
            })
            .await;
            threads()
        });
        assert!(during > baseline, "round {round}: no runtime thread seen ({during} vs {baseline})");
        // Liveness bound only: the runtime is joined before `run` returns.
        let deadline = Instant::now() + Duration::from_secs(10);
        while threads() != baseline && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(threads(), baseline, "round {round}: threads left after tulip::run");
    }
}
