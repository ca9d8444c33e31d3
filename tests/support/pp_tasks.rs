#![allow(dead_code)] // each test target uses a different subset of these tasks
//! Small tasks shared by the process-pool test targets (functions must live in the test program).

use std::path::PathBuf;
use std::time::Duration;

/// Sleeps `ms`, returns it.
pub fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// `x + 1`: the tiny task.
pub fn one(x: u32) -> u32 {
    x + 1
}

/// Creates `path`, then sleeps `ms`: the file says the task started.
pub fn mark_then_nap((path, ms): (PathBuf, u64)) -> u64 {
    std::fs::write(&path, b"started").unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// A fresh marker path (removed if it exists) unique to this process and `name`.
pub fn marker(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("tulip-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}
