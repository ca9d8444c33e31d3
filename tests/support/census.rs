#![allow(dead_code)] // each test target uses a different subset of these helpers
//! What a process holds, read from `/proc`: open descriptors, threads, children and zombies. The
//! leak tests compare these with a baseline.

use std::time::{Duration, Instant};

/// Open file descriptors of this process (the listing's own descriptor not counted).
pub fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count().saturating_sub(1)).unwrap_or(0)
}

/// Threads of this process.
pub fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

/// `(running, zombies)` among the children of this process.
pub fn children() -> (usize, usize) {
    let me = std::process::id().to_string();
    let (mut running, mut zombies) = (0, 0);
    let Ok(dir) = std::fs::read_dir("/proc") else { return (0, 0) };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // After the command name (which may hold spaces and parentheses): state, ppid, ...
        let Some((_, rest)) = stat.rsplit_once(") ") else { continue };
        let mut fields = rest.split(' ');
        let (Some(state), Some(ppid)) = (fields.next(), fields.next()) else { continue };
        if ppid == me {
            if state == "Z" || state == "X" {
                zombies += 1;
            } else {
                running += 1;
            }
        }
    }
    (running, zombies)
}

/// Everything counted at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Census {
    pub fds: usize,
    pub threads: usize,
    pub children: usize,
    pub zombies: usize,
}

pub fn take() -> Census {
    let (children, zombies) = children();
    Census { fds: fds(), threads: threads(), children, zombies }
}

/// Waits (a liveness bound, not a timing assertion) until nothing is above `baseline`; panics with
/// `what` and both censuses otherwise.
pub fn settles(what: &str, baseline: Census) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = take();
        let above = now.fds > baseline.fds
            || now.threads > baseline.threads
            || now.children > baseline.children
            || now.zombies > baseline.zombies;
        if !above {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: leaked, {now:?} now, {baseline:?} before");
        std::thread::sleep(Duration::from_millis(5));
    }
}
