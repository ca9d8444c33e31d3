#[path = "../support/process_harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::Case;
use tulip::process::Launcher;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_host_set_aside_is_tried_again_after_its_cool_off",
        run: a_host_set_aside_is_tried_again_after_its_cool_off,
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

fn a_host_set_aside_is_tried_again_after_its_cool_off() {
    let flag = std::env::temp_dir().join(format!("tulip-host-cool-{}", std::process::id()));
    let _ = std::fs::remove_file(&flag);
    let script = format!("test -e '{}' && exit 7; exec \"$@\"", flag.display());
    let launcher = Launcher::command(["sh", "-c", &script, "sh"]).cool_off(Duration::from_millis(300));
    let pool = ProcessPool::builder().launcher(launcher).max_workers(1).build().unwrap();
    assert_eq!(pool.submit(cube, 3).unwrap().wait(), Ok(27));
    std::fs::write(&flag, b"down").unwrap();
    assert!(matches!(pool.submit(end_link, ()).unwrap().wait(), Err(JobError::WorkerDied(_))));
    let outcome = pool.submit(cube, 2).unwrap().wait_timeout(Duration::from_secs(30));
    assert!(matches!(outcome, Some(Err(JobError::Spawn(_)))), "set aside: {outcome:?}");
    std::fs::remove_file(&flag).unwrap();
    // A liveness bound, not a timing: tasks fail at once while the host cools, then one runs.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match pool.submit(cube, 4).unwrap().wait_timeout(Duration::from_secs(30)) {
            Some(Ok(v)) => break assert_eq!(v, 64),
            Some(Err(JobError::Spawn(_))) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => panic!("expected the host back after its cool-off, got {other:?}"),
        }
    }
    assert_eq!(pool.stats().hosts_set_aside, 0, "no longer counted as set aside");
}
