#[path = "../support/census.rs"]
mod census;
#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::eventually;
use tulip::subprocess::Command;

/// The pids of this process's children, alive or zombie.
fn children() -> Vec<i32> {
    census::child_states().into_iter().map(|(pid, _)| pid).collect()
}

#[test]
fn a_status_dropped_while_its_child_starts_leaves_no_child() {
    assert!(children().is_empty(), "no child before the test");
    let started = tulip::run(async {
        let mut cmd = Command::new("sleep");
        cmd.arg("60").kill_on_drop(true);
        let mut status = Box::pin(cmd.status());
        // One poll hands the spawn to the lane; the loop then stays busy here, so the child the lane
        // starts is never taken by the loop.
        assert!(futures_lite::future::poll_once(status.as_mut()).await.is_none());
        eventually(Duration::from_secs(10), "the lane started the child", || !children().is_empty());
        let started = children();
        drop(status);
        started
    });
    eventually(Duration::from_secs(10), "the unclaimed child killed and reaped", || {
        children().iter().all(|pid| !started.contains(pid))
    });
}
