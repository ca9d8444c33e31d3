//! Subprocesses: a child dropped unwaited is reaped in the background (no zombie after a second),
//! and with `kill_on_drop` it is killed first.

#[cfg(windows)]
#[test]
fn skipped_on_windows() {
    println!("skipped on Windows: tulip::subprocess is Unix-only for now (README, Platforms)");
}

#[cfg(unix)]
use std::time::{Duration, Instant};

#[cfg(unix)]
use tulip::subprocess::Command;

/// Whether `pid` still exists, as a zombie or alive (`/proc/<pid>` is gone once it is reaped).
#[cfg(unix)]
fn exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(unix)]
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

#[cfg(unix)]
#[test]
fn a_dropped_child_is_reaped() {
    let pid = tulip::run(async {
        let child = Command::new("/bin/sh").args(["-c", "sleep 0.05"]).spawn().unwrap();
        child.id()
    });
    assert!(gone_within(pid, Duration::from_secs(1)), "child {pid} left unreaped");
}

#[cfg(unix)]
#[test]
fn a_dropped_child_with_kill_on_drop_is_killed_and_reaped() {
    let pid = tulip::run(async {
        let child = Command::new("sleep").arg("60").kill_on_drop(true).spawn().unwrap();
        child.id()
    });
    assert!(gone_within(pid, Duration::from_secs(1)), "child {pid} still there");
}
