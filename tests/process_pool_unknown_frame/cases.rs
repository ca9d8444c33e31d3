#[path = "../support/process_harness.rs"]
mod harness;

use std::io::Write;
use std::os::fd::FromRawFd;
use std::time::Duration;

use harness::Case;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_result_after_an_unknown_frame_is_not_trusted",
        run: a_result_after_an_unknown_frame_is_not_trusted,
    }]);
}

/// Writes, straight into the worker's result socket (fd 4), a frame of unknown kind followed by a
/// well-formed result (value 42) for task `id`, then hangs.
fn forge(id: u64) -> u32 {
    let mut bytes = vec![3, 0, 0, 0, 0x55, 0x55, 0x55];
    let body_len = 1 + 8 + 8 + 1 + 1u32;
    bytes.extend_from_slice(&body_len.to_le_bytes());
    bytes.push(0x83);
    bytes.extend_from_slice(&id.to_le_bytes());
    bytes.extend_from_slice(&0u64.to_le_bytes());
    bytes.push(0);
    bytes.push(42);
    // SAFETY: fd 4 is the worker's result socket; it is not closed here (forget).
    let mut out = unsafe { std::fs::File::from_raw_fd(4) };
    out.write_all(&bytes).unwrap();
    std::mem::forget(out);
    std::thread::sleep(Duration::from_secs(30));
    0
}

fn a_result_after_an_unknown_frame_is_not_trusted() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    // Task ids count from 1 in a new pool: this task is task 1, whose result the forgery claims.
    match pool.submit(forge, 1).unwrap().wait() {
        Err(JobError::WorkerDied(m)) => assert!(m.contains("unknown frame kind 0x55"), "{m}"),
        other => panic!("expected WorkerDied after the malformed frame, got {other:?}"),
    }
    assert_eq!(pool.stats().worker_deaths, 1);
}
