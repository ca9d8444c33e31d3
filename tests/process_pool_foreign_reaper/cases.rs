#[path = "../support/process_harness.rs"]
mod harness;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use harness::Case;
use tulip::ProcessPool;

fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "retirements_are_not_deaths_with_sigchld_ignored", run: with_sigchld_ignored },
        Case { name: "retirements_are_not_deaths_with_a_waitpid_loop", run: with_a_waitpid_loop },
    ]);
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

/// Recycles a worker after every task, then lets the last ones retire for idleness.
fn recycle_and_retire() {
    let pool = ProcessPool::builder()
        .max_workers(2)
        .max_tasks_per_child(1)
        .idle_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let mut pids = Vec::new();
    for _ in 0..8 {
        pids.push(pool.submit(pid, ()).unwrap().wait().unwrap());
    }
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 8, "each task ran in a fresh worker");
    harness::eventually(Duration::from_secs(20), "the idle workers retire", || pool.stats().workers == 0);
    let stats = pool.stats();
    assert_eq!(stats.worker_deaths, 0, "{stats:?}");
    assert_eq!(pool.submit(pid, ()).unwrap().wait().map(|_| ()), Ok(()));
}

fn with_sigchld_ignored() {
    // SAFETY: changes a signal disposition; restored below.
    let old = unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let outcome = std::panic::catch_unwind(recycle_and_retire);
    // SAFETY: puts back the disposition found above.
    unsafe { libc::signal(libc::SIGCHLD, old) };
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}

fn with_a_waitpid_loop() {
    let stop = Arc::new(AtomicBool::new(false));
    let reaper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                // SAFETY: reaps any child of this process, as a careless library would.
                if unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } <= 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        })
    };
    let outcome = std::panic::catch_unwind(recycle_and_retire);
    stop.store(true, Ordering::Release);
    reaper.join().unwrap();
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}
