#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::{eventually, Case};
use tulip::process::Launcher;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_host_that_keeps_failing_is_set_aside",
        run: a_host_that_keeps_failing_is_set_aside,
    }]);
}

fn cube(x: i64) -> i64 {
    x * x * x
}

/// Kills the worker's nanny (its parent, the launcher's process): the link ends.
fn end_link(_: ()) -> u32 {
    // SAFETY: signals this test's own nanny process.
    unsafe { libc::kill(libc::getppid(), libc::SIGKILL) };
    std::thread::sleep(Duration::from_secs(60));
    0
}

fn a_host_that_keeps_failing_is_set_aside() {
    let flag = std::env::temp_dir().join(format!("tulip-host-down-{}", std::process::id()));
    let _ = std::fs::remove_file(&flag);
    let script = format!("test -e '{}' && exit 7; exec \"$@\"", flag.display());
    let pool = ProcessPool::builder()
        .launcher(Launcher::command(["sh", "-c", &script, "sh"]))
        .max_workers(1)
        .build()
        .unwrap();
    assert_eq!(pool.submit(cube, 3).unwrap().wait(), Ok(27));
    std::fs::write(&flag, b"down").unwrap();
    assert!(matches!(pool.submit(end_link, ()).unwrap().wait(), Err(JobError::WorkerDied(_))));
    let mut fut = pool.submit(cube, 2).unwrap();
    let outcome = fut.wait_timeout(Duration::from_secs(30));
    let _ = std::fs::remove_file(&flag);
    match outcome {
        Some(Err(JobError::Spawn(m))) => {
            assert!(m.contains("no host can start a worker") && m.contains("sh -c"), "{m}");
            assert!(m.contains("status 7"), "says why: {m}");
            assert!(m.contains("tried again in"), "says when it is tried again: {m}");
        }
        other => panic!("expected JobError::Spawn naming the host, got {other:?}"),
    }
    eventually(Duration::from_secs(5), "the host is counted as set aside", || {
        pool.stats().hosts_set_aside == 1
    });
    match pool.submit(cube, 4).unwrap().wait_timeout(Duration::from_secs(30)) {
        Some(Err(JobError::Spawn(m))) => assert!(m.contains("no host can start a worker"), "{m}"),
        other => panic!("a later task fails the same way, got {other:?}"),
    }
}
