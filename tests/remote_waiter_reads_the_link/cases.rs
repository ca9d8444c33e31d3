#[path = "../support/process_harness.rs"]
mod harness;

use std::sync::mpsc;
use std::time::Duration;

use harness::{eventually, Case};
use tulip::process::Launcher;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case {
            name: "a_wait_that_times_out_leaves_the_result_to_the_driver",
            run: a_wait_that_times_out_leaves_the_result_to_the_driver,
        },
        Case {
            name: "heartbeats_are_heard_while_a_waiter_reads_the_link",
            run: heartbeats_are_heard_while_a_waiter_reads_the_link,
        },
        Case { name: "a_time_limit_wakes_the_waiter", run: a_time_limit_wakes_the_waiter },
        Case {
            name: "a_shutdown_from_another_thread_wakes_the_waiter",
            run: a_shutdown_from_another_thread_wakes_the_waiter,
        },
        Case {
            name: "a_done_callback_may_wait_for_the_next_task_on_the_link",
            run: a_done_callback_may_wait_for_the_next_task_on_the_link,
        },
        Case { name: "sequential_round_trips_all_return", run: sequential_round_trips_all_return },
    ]);
}

/// A "remote" worker without ssh: the launcher runs the nanny here, over its stdin and stdout.
fn remote(beat: Duration) -> ProcessPool {
    let launcher = Launcher::command(["sh", "-c", "exec \"$@\"", "sh"]).heartbeat(beat);
    ProcessPool::builder().launcher(launcher).max_workers(1).min_workers(1).build().unwrap()
}

/// Sleeps `ms` milliseconds, then returns them.
fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn a_wait_that_times_out_leaves_the_result_to_the_driver() {
    let pool = remote(Duration::from_secs(5));
    let mut fut = pool.submit(nap, 300).unwrap();
    assert_eq!(fut.wait_timeout(Duration::from_millis(20)), None, "still running");
    // Nobody waits now: only the driver can read the result.
    eventually(Duration::from_secs(30), "the driver completes the task", || fut.is_done());
    assert_eq!(fut.wait(), Ok(300));
}

fn heartbeats_are_heard_while_a_waiter_reads_the_link() {
    // Three missed beats (300 ms) end a silent link; the task runs for ten times that.
    let pool = remote(Duration::from_millis(100));
    assert_eq!(pool.submit(nap, 3_000).unwrap().wait(), Ok(3_000));
    assert_eq!(pool.stats().worker_deaths, 0, "no worker was taken for silent");
}

fn a_time_limit_wakes_the_waiter() {
    let pool = remote(Duration::from_secs(5));
    let limit = Duration::from_millis(200);
    assert_eq!(pool.submit_with_limit(nap, 600_000, limit).unwrap().wait(), Err(JobError::TimedOut(limit)));
    assert_eq!(pool.submit(nap, 1).unwrap().wait(), Ok(1), "the pool heals");
}

fn a_shutdown_from_another_thread_wakes_the_waiter() {
    let pool = remote(Duration::from_secs(5));
    let fut = pool.submit(nap, 600_000).unwrap();
    let other = pool.clone();
    let stopper = std::thread::spawn(move || {
        eventually(Duration::from_secs(30), "the task runs", || other.stats().running == 1);
        other.shutdown_timeout(Duration::ZERO)
    });
    match fut.wait() {
        Err(JobError::WorkerDied(_) | JobError::ShutDown) => {}
        other => panic!("expected the shutdown to end the task, got {other:?}"),
    }
    assert_eq!(stopper.join().unwrap().still_running, 1);
}

fn a_done_callback_may_wait_for_the_next_task_on_the_link() {
    let pool = remote(Duration::from_secs(5));
    let first = pool.submit(nap, 50).unwrap();
    // Queued behind the first, on the only worker: its result comes on the same link.
    let second = pool.submit(nap, 60).unwrap();
    let (tx, rx) = mpsc::channel();
    first.add_done_callback(move |_| {
        let _ = tx.send(second.wait());
    });
    assert_eq!(first.wait(), Ok(50));
    match rx.recv_timeout(Duration::from_secs(30)) {
        // Run by this thread, which read the first result, the callback waits; run by the
        // driver, it is told that it would wait for itself.
        Ok(Ok(60) | Err(JobError::WouldDeadlock)) => {}
        other => panic!("the callback's wait for the next task ended with {other:?}"),
    }
}

fn sequential_round_trips_all_return() {
    let pool = remote(Duration::from_millis(100));
    for i in 0..2_000 {
        assert_eq!(pool.submit(nap, 0).unwrap().wait(), Ok(0), "round trip {i}");
    }
    let s = pool.stats();
    assert_eq!((s.completed, s.worker_deaths), (2_000, 0));
}
