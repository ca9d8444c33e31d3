#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::Case;
use tulip::process::Launcher;
use tulip::ProcessPool;

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_task_sent_to_a_dead_remote_worker_is_resent",
        run: a_task_sent_to_a_dead_remote_worker_is_resent,
    }]);
}

/// This worker's pid and its parent's (the nanny's).
fn pids(_: ()) -> (i32, i32) {
    // SAFETY: getpid and getppid have no preconditions.
    unsafe { (libc::getpid(), libc::getppid()) }
}

fn cube(x: i64) -> i64 {
    x * x * x
}

fn a_task_sent_to_a_dead_remote_worker_is_resent() {
    let pool = ProcessPool::builder()
        .launcher(Launcher::command(["sh", "-c", "exec \"$@\"", "sh"]))
        .max_workers(1)
        .build()
        .unwrap();
    let (worker, nanny) = pool.submit(pids, ()).unwrap().wait().unwrap();
    // SAFETY: signals processes this test started and knows the pids of.
    unsafe {
        libc::kill(nanny, libc::SIGSTOP);
        libc::kill(worker, libc::SIGKILL);
    }
    let fut = pool.submit(cube, 2).unwrap();
    // Sent down the link (the pool counts it running) while the nanny cannot report the death.
    harness::eventually(Duration::from_secs(30), "the task sent to the dead worker", || {
        pool.stats().running == 1
    });
    // SAFETY: as above.
    unsafe { libc::kill(nanny, libc::SIGCONT) };
    assert_eq!(fut.wait(), Ok(8), "re-sent to the next worker, not failed");
    let (next, same_nanny) = pool.submit(pids, ()).unwrap().wait().unwrap();
    assert_ne!(next, worker);
    assert_eq!(same_nanny, nanny, "the next worker came on the same link");
}
