#[path = "../support/process_harness.rs"]
mod harness;
#[path = "../support/pp_tasks.rs"]
mod tasks;

use std::sync::{mpsc, Arc};
use std::time::Duration;

use harness::Case;
use tasks::{marker, one};
use tulip::{JobError, ProcessPool};

/// Generous liveness bound; before the fix the wait never ended.
const LIVE: Duration = Duration::from_secs(10);

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_callback_waiting_on_the_same_pool_fails_fast",
        run: a_callback_waiting_on_the_same_pool_fails_fast,
    }]);
}

/// Waits (at most `LIVE`) until `path` exists; whether it came.
fn wait_for(path: std::path::PathBuf) -> bool {
    let t = std::time::Instant::now();
    while !path.exists() && t.elapsed() < LIVE {
        std::thread::sleep(Duration::from_millis(1));
    }
    path.exists()
}

fn a_callback_waiting_on_the_same_pool_fails_fast() {
    let pool = Arc::new(ProcessPool::builder().max_workers(2).build().unwrap());
    let (tx, rx) = mpsc::channel();
    // The task ends only once the callback is added, so the callback runs on the driver thread.
    let go = marker("callback-added");
    let first = pool.submit(wait_for, go.clone()).unwrap();
    let p = pool.clone();
    first.add_done_callback(move |_| {
        let inner = p.submit(one, 1).map(|f| f.wait());
        let _ = tx.send(inner);
    });
    std::fs::write(&go, b"go").unwrap();
    let inner = rx.recv_timeout(LIVE).expect("the callback's wait never ended");
    assert!(matches!(inner, Ok(Err(JobError::WouldDeadlock))), "{inner:?}");
    assert_eq!(first.wait(), Ok(true));
    let _ = std::fs::remove_file(go);
    // The pool is still alive.
    let mut next = pool.submit(one, 2).unwrap();
    assert_eq!(next.wait_timeout(LIVE), Some(Ok(3)));
}
