#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::{eventually, Case};
use tulip::process::Launcher;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_hung_host_misses_its_heartbeats",
        run: a_hung_host_misses_its_heartbeats,
    }]);
}

/// Writes this worker's parent's pid (the nanny's) to `path`, then sleeps far longer than any test.
fn park(path: String) -> u32 {
    // SAFETY: getppid has no preconditions.
    std::fs::write(&path, unsafe { libc::getppid() }.to_string()).unwrap();
    std::thread::sleep(Duration::from_secs(600));
    0
}

fn cube(x: i64) -> i64 {
    x * x * x
}

fn a_hung_host_misses_its_heartbeats() {
    let path = std::env::temp_dir().join(format!("tulip-heartbeat-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let launcher = Launcher::command(["sh", "-c", "exec \"$@\"", "sh"]).heartbeat(Duration::from_millis(200));
    let pool = ProcessPool::builder().launcher(launcher).max_workers(1).build().unwrap();
    let mut fut = pool.submit(park, path.display().to_string()).unwrap();
    let mut nanny = 0;
    eventually(Duration::from_secs(30), "the parked task starts", || {
        nanny = std::fs::read_to_string(&path).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        nanny != 0
    });
    let _ = std::fs::remove_file(&path);
    // SAFETY: stops the nanny this test started; the pool ends it.
    unsafe { libc::kill(nanny, libc::SIGSTOP) };
    match fut.wait_timeout(Duration::from_secs(10)) {
        Some(Err(JobError::WorkerDied(m))) => {
            assert!(m.contains("sh -c") && m.contains("heartbeat"), "names the host and why: {m}")
        }
        other => panic!("expected WorkerDied after missed heartbeats, got {other:?}"),
    }
    assert_eq!(pool.submit(cube, 3).unwrap().wait(), Ok(27), "the pool heals");
}
