//! `BlockingPortal::call` on a thread that runs a loop would stall that loop (and hang when the
//! portal's future waits on it): it fails at once with `JobError::WouldDeadlock`.

use tulip::{BlockingPortal, JobError};

#[test]
fn call_from_inside_a_running_loop_fails_with_would_deadlock() {
    let portal = BlockingPortal::start().unwrap();
    let r = tulip::run(async { portal.call(|| async { 1 }) });
    assert_eq!(r, Err(JobError::WouldDeadlock));
    // Off the loop, the same portal serves the call.
    assert_eq!(portal.call(|| async { 1 }), Ok(1));
}

#[test]
fn call_whose_future_waits_on_the_calling_loop_fails_instead_of_hanging() {
    let portal = BlockingPortal::start().unwrap();
    let r = tulip::run(async {
        let here = tulip::get_running_loop().handle();
        portal.call(move || async move { here.spawn_threadsafe(async { 2 }).await })
    });
    assert_eq!(r, Err(JobError::WouldDeadlock));
}
