#[path = "../support/census.rs"]
mod census;
#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::Case;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    // SAFETY: sets a signal disposition before any other thread of this program runs.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    harness::run(&[Case {
        name: "writes_to_killed_workers_do_not_raise_sigpipe",
        run: writes_to_killed_workers_do_not_raise_sigpipe,
    }]);
}

fn double(x: u32) -> u32 {
    x * 2
}

fn writes_to_killed_workers_do_not_raise_sigpipe() {
    let pool = ProcessPool::builder().min_workers(2).max_workers(2).build().unwrap();
    let mut served = 0;
    for round in 0..150u32 {
        // Idle workers die under the pool's feet; the next submissions write to their sockets at once.
        for pid in census::live_children() {
            // SAFETY: signals a child of this process (a pool worker).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for i in 0..3 {
            match pool.submit(double, round + i).unwrap().wait() {
                Ok(v) => {
                    assert_eq!(v, 2 * (round + i));
                    served += 1;
                }
                Err(JobError::WorkerDied(_)) => {}
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
    }
    assert!(served > 0, "no task was served at all");
    // Still alive, and the pool still serves.
    let after = pool.submit(double, 21).unwrap();
    harness::eventually(Duration::from_secs(30), "a task after the kills", || after.is_done());
    assert_eq!(after.wait(), Ok(42));
    // SAFETY: reads the disposition back (setting it to what it must still be).
    let now = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_eq!(now, libc::SIG_DFL, "the pool changed the program's SIGPIPE disposition");
}
