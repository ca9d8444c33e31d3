//! Process pool: a worker that dies while its pipes stay open (a child it forked holds them) is
//! noticed within the liveness check's second even when its task went the direct path from `submit`
//! to an idle worker, which does not wake the driver. Before, the driver slept on until the idle
//! timeout (60 s).

#[path = "support/process_harness.rs"]
mod harness;
#[path = "support/pp_tasks.rs"]
mod tasks;

use std::time::Duration;

use harness::Case;
use tasks::{marker, one};
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_direct_task_whose_worker_dies_silently_is_failed",
        run: a_direct_task_whose_worker_dies_silently_is_failed,
    }]);
}

/// Forks a child that keeps the worker's pipes open (and writes its pid to `path`), then aborts.
fn fork_then_abort(path: std::path::PathBuf) -> u8 {
    // SAFETY: the child only sleeps and exits; it runs no code that could need another thread.
    let child = unsafe { libc::fork() };
    if child == 0 {
        // SAFETY: async-signal-safe calls only, in the forked child.
        unsafe {
            libc::sleep(60);
            libc::_exit(0)
        };
    }
    std::fs::write(&path, child.to_string()).unwrap();
    std::process::abort()
}

fn a_direct_task_whose_worker_dies_silently_is_failed() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    // An idle pool: its driver sleeps, and the next task goes straight to the worker.
    assert_eq!(pool.try_submit(one, 1).unwrap().wait(), Ok(2));
    std::thread::sleep(Duration::from_millis(50));
    let file = marker("direct-grandchild");
    let mut fut = pool.try_submit(fork_then_abort, file.clone()).unwrap();
    let outcome = fut.wait_timeout(Duration::from_secs(10));
    if let Ok(pid) = std::fs::read_to_string(&file) {
        // SAFETY: kills the grandchild this test made the worker fork.
        unsafe { libc::kill(pid.trim().parse().unwrap(), libc::SIGKILL) };
    }
    let _ = std::fs::remove_file(file);
    match outcome {
        Some(Err(JobError::WorkerDied(m))) => assert!(m.contains("SIGABRT"), "{m}"),
        other => panic!("the death was not noticed: {other:?}"),
    }
    assert_eq!(pool.try_submit(one, 2).unwrap().wait(), Ok(3));
}
