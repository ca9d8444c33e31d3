use std::time::{Duration, Instant};

use tulip::subprocess::Command;

/// The pids of this process's children (alive or zombie), from `/proc`.
fn children() -> Vec<u32> {
    let me = std::process::id();
    let ppid_of = |pid: &str| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit(')').next()?.split_whitespace().nth(1)?.parse::<u32>().ok()
    };
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| ppid_of(name) == Some(me))
        .filter_map(|name| name.parse().ok())
        .collect()
}

/// Waits for `cond`, panicking with `what` after `limit` (a liveness bound, not a timing).
fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
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
