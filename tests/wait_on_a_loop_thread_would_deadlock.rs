//! Blocking `tulip::wait` / `tulip::as_completed` on a loop's own thread, for a future that needs that
//! loop, cannot end: they hand the future back at once (its `wait` gives `WouldDeadlock`), as
//! `ConcurrentFuture::wait` does, instead of hanging until the timeout.

use std::time::Duration;

use tulip::{as_completed, wait, JobError, ReturnWhen};

/// A liveness bound: without the guard, the calls below would sleep until it.
const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn as_completed_yields_a_future_that_needs_this_loop_at_once() {
    tulip::run(async {
        let fut = tulip::get_running_loop().handle().spawn_threadsafe(async { 1 });
        let mut it = as_completed(vec![fut], Some(LIMIT));
        let fut = it.next().unwrap().expect("yielded before the timeout");
        assert_eq!(fut.wait(), Err(JobError::WouldDeadlock));
    });
}

#[test]
fn wait_counts_a_future_that_needs_this_loop_as_done() {
    tulip::run(async {
        let fut = tulip::get_running_loop().handle().spawn_threadsafe(async { 1 });
        let c = wait(vec![fut], ReturnWhen::FirstError, Some(LIMIT));
        assert_eq!((c.done.len(), c.pending.len()), (1, 0));
    });
}
