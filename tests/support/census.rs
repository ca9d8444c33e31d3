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

/// The children of this process: pid, and whether it is a zombie (dead, not reaped yet).
pub fn child_states() -> Vec<(i32, bool)> {
    let me = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<i32>().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // After the command name (which may hold spaces and parentheses): state, ppid, ...
            let mut fields = stat.rsplit_once(") ")?.1.split(' ');
            let (state, ppid) = (fields.next()?, fields.next()?);
            (ppid == me).then_some((pid, state == "Z" || state == "X"))
        })
        .collect()
}

/// `(running, zombies)` among the children of this process.
pub fn children() -> (usize, usize) {
    let states = child_states();
    let zombies = states.iter().filter(|(_, zombie)| *zombie).count();
    (states.len() - zombies, zombies)
}

/// Pids of the children of this process that are still running (not zombies).
pub fn live_children() -> Vec<i32> {
    child_states().into_iter().filter(|(_, zombie)| !zombie).map(|(pid, _)| pid).collect()
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
