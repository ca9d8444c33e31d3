use std::time::{Duration, Instant};

use tulip::subprocess::Command;

/// Whether `pid` still exists, as a zombie or alive (`/proc/<pid>` is gone once it is reaped).
fn exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn gone_within(pid: u32, bound: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < bound {
        if !exists(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn a_dropped_child_is_reaped() {
    let pid = tulip::run(async {
        let child = Command::new("/bin/sh").args(["-c", "sleep 0.05"]).spawn().unwrap();
        child.id()
    });
    assert!(gone_within(pid, Duration::from_secs(1)), "child {pid} left unreaped");
}

#[test]
fn a_dropped_child_with_kill_on_drop_is_killed_and_reaped() {
    let pid = tulip::run(async {
        let child = Command::new("sleep").arg("60").kill_on_drop(true).spawn().unwrap();
        child.id()
    });
    assert!(gone_within(pid, Duration::from_secs(1)), "child {pid} still there");
}
