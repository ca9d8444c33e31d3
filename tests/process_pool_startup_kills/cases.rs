#[path = "../support/census.rs"]
mod census;
#[path = "../support/process_harness.rs"]
mod harness;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use harness::Case;
use tulip::ProcessPool;

const SLOW_START: &str = "TULIP_TEST_SLOW_WORKER_START";

/// How long a new worker takes before `main`: far longer than the killer needs to find it.
const START_DELAY: Duration = Duration::from_millis(250);

extern "C" fn slow_start() {
    if std::env::var_os(SLOW_START).is_some() {
        std::thread::sleep(START_DELAY);
    }
}

#[used]
#[link_section = ".init_array"]
static SLOW_START_CTOR: extern "C" fn() = slow_start;

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "workers_killed_during_their_handshake_are_replaced",
        run: workers_killed_during_their_handshake_are_replaced,
    }]);
}

fn double(x: u32) -> u32 {
    2 * x
}

/// Kills the next `n` new children of this process as soon as they appear; returns when done.
fn kill_next_children(n: usize, seen: &mut HashSet<i32>) {
    let mut killed = 0;
    while killed < n {
        for pid in census::live_children() {
            if killed < n && seen.insert(pid) {
                // SAFETY: a signal to a child of ours, read from /proc a moment ago.
                assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
                killed += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn workers_killed_during_their_handshake_are_replaced() {
    // SAFETY: set before this test starts any thread that reads the environment.
    unsafe { std::env::set_var(SLOW_START, "1") };
    const KILLS: usize = 4;
    let phase = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let killer = {
        let (phase, done) = (phase.clone(), done.clone());
        std::thread::spawn(move || {
            let mut seen = HashSet::new();
            // While `build` waits for its first worker.
            kill_next_children(KILLS, &mut seen);
            phase.store(1, Ordering::SeqCst);
            // While tasks wait for a worker: first the idle one left by `build`, then new ones.
            while phase.load(Ordering::SeqCst) < 2 {
                std::thread::sleep(Duration::from_millis(1));
            }
            kill_next_children(1 + KILLS, &mut seen);
            done.store(true, Ordering::SeqCst);
        })
    };

    let pool = ProcessPool::builder().max_workers(1).build();
    let pool =
        pool.unwrap_or_else(|e| panic!("build failed after workers were killed in their handshake: {e}"));
    assert_eq!(phase.load(Ordering::SeqCst), 1, "build returned before the killer was done");
    assert_eq!(pool.submit(double, 1).unwrap().wait(), Ok(2));

    phase.store(2, Ordering::SeqCst);
    harness::eventually(Duration::from_secs(10), "the idle worker is killed and removed", || {
        pool.stats().workers == 0
    });
    let futs: Vec<_> = (0..5).map(|i| pool.submit(double, i).unwrap()).collect();
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait(), Ok(2 * i as u32), "task {i}");
    }
    assert!(done.load(Ordering::SeqCst), "a task ran before the killer was done");
    killer.join().unwrap();
    assert_eq!(pool.stats().worker_deaths, (2 * KILLS + 1) as u64);
    // SAFETY: as above; the pool's workers are started and no other thread reads the environment.
    unsafe { std::env::remove_var(SLOW_START) };
}
