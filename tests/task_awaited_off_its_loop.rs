//! A task awaited where its loop cannot run (under another loop's `run_until_complete`, or under a
//! foreign executor's `block_on` on the loop's thread) fails at once with `JobError::WouldDeadlock`
//! instead of hanging, and stays usable on its own loop.

use std::sync::mpsc;
use std::time::Duration;

use tulip::{EventLoop, JobError};

/// Runs `f` on a thread of its own; a hang fails the test instead of hanging it (liveness bound).
fn within_bound<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()));
    rx.recv_timeout(Duration::from_secs(20)).expect("hung instead of failing fast")
}

#[test]
fn run_until_complete_on_another_loops_task_fails_with_would_deadlock() {
    within_bound(|| {
        let a = EventLoop::new().unwrap();
        let b = EventLoop::new().unwrap();
        let mut task = a.spawn(async { 5 });
        assert_eq!(b.run_until_complete(&mut task), Ok(Err(JobError::WouldDeadlock)));
        // The task itself is unharmed: its own loop runs it.
        assert_eq!(a.run_until_complete(task), Ok(Ok(5)));
    });
}

#[test]
fn awaiting_another_loops_task_inside_a_task_fails_with_would_deadlock() {
    within_bound(|| {
        let a = EventLoop::new().unwrap();
        let b = EventLoop::new().unwrap();
        let task = a.spawn(std::future::pending::<()>());
        let on_b = b.spawn(task);
        assert_eq!(b.run_until_complete(on_b), Ok(Ok(Err(JobError::WouldDeadlock))));
    });
}

#[test]
fn block_on_a_task_outside_its_loop_fails_with_would_deadlock() {
    within_bound(|| {
        let lp = EventLoop::new().unwrap();
        let task = lp.spawn(async { 1 });
        assert_eq!(futures_lite::future::block_on(task), Err(JobError::WouldDeadlock));
    });
}

#[test]
fn a_finished_task_gives_its_output_anywhere() {
    let a = EventLoop::new().unwrap();
    let b = EventLoop::new().unwrap();
    let task = a.spawn(async { 3 });
    a.run_until_complete(async {}).unwrap();
    assert_eq!(b.run_until_complete(task), Ok(Ok(3)));
}
