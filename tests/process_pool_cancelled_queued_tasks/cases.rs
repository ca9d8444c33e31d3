#[path = "../support/process_harness.rs"]
mod harness;
#[path = "../support/pp_tasks.rs"]
mod tasks;

use std::time::{Duration, Instant};

use harness::{eventually, Case};
use tasks::{nap, one};
use tulip::{JobError, ProcessPool};

/// Generous liveness bound: the stall this pins lasted until the idle timeout (60 s).
const LIVE: Duration = Duration::from_secs(10);

fn main() {
    tulip::process::init();
    harness::run(&[
        Case {
            name: "cancelled_queued_tasks_do_not_stall_the_pool",
            run: cancelled_queued_tasks_do_not_stall_the_pool,
        },
        Case {
            name: "dropped_futures_of_timed_out_awaits_do_not_stall_the_pool",
            run: dropped_futures_do_not_stall_the_pool,
        },
        Case {
            name: "shutdown_after_cancelling_queued_tasks_is_prompt",
            run: shutdown_after_cancelling_is_prompt,
        },
    ]);
}

type Fut = tulip::ConcurrentFuture<u64>;

/// One worker running a 300 ms task, and `n` tasks queued behind it, cancelled.
fn busy_pool_with_cancelled(n: usize) -> (ProcessPool, Fut, Vec<Fut>) {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let long = pool.submit(nap, 300).unwrap();
    eventually(LIVE, "the long task starts", || pool.stats().running == 1);
    let queued: Vec<_> = (0..n).map(|_| pool.submit(nap, 1).unwrap()).collect();
    for f in &queued {
        assert!(f.cancel());
    }
    (pool, long, queued)
}

/// Reproduction (a): one worker busy, ten queued tasks cancelled, then a tiny task.
fn cancelled_queued_tasks_do_not_stall_the_pool() {
    let (pool, long, queued) = busy_pool_with_cancelled(10);
    eventually(LIVE, "cancelled tasks leave the queue", || pool.stats().queued == 0);
    assert_eq!(pool.stats().cancelled, 10);
    for f in queued {
        assert_eq!(f.wait(), Err(JobError::Cancelled));
    }
    assert_eq!(long.wait(), Ok(300));
    let mut tiny = pool.submit(one, 1).unwrap();
    assert_eq!(tiny.wait_timeout(LIVE), Some(Ok(2)), "a task after the cancelled ones stalls");
}

/// Reproduction (b): the everyday async pattern, a short timeout around `submit` (the future is
/// dropped), forty times, then a tiny task.
fn dropped_futures_do_not_stall_the_pool() {
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    tulip::run(async {
        for _ in 0..40 {
            let _ = tulip::timeout(Duration::from_millis(5), pool.submit(nap, 50).unwrap()).await;
        }
    });
    let mut tiny = pool.submit(one, 1).unwrap();
    assert_eq!(tiny.wait_timeout(LIVE), Some(Ok(2)), "a task after the dropped ones stalls");
    eventually(LIVE, "dropped tasks leave the queue", || pool.stats().queued == 0);
}

/// Reproduction (c): a graceful shutdown after cancelling queued tasks ends when the running task does.
fn shutdown_after_cancelling_is_prompt() {
    let (pool, long, _queued) = busy_pool_with_cancelled(5);
    let t = Instant::now();
    pool.shutdown_timeout(Duration::MAX);
    assert!(t.elapsed() < LIVE, "shutdown took {:?}", t.elapsed());
    assert_eq!(long.wait(), Ok(300));
    assert_eq!(pool.stats().cancelled, 5);
}
