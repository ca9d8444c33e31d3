//! A remote worker's launcher is ended with `SIGTERM` first (`srun` cancels its job step on it;
//! killed outright it can leave the step and its nanny running), and `SIGKILL` only if it stays.
//! A command launcher whose shell records the `SIGTERM` stands in for `srun`; a task timeout is
//! what ends it.

#[path = "support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::{eventually, Case};
use tulip::process::Launcher;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_timed_out_remote_task_terms_its_launcher",
        run: a_timed_out_remote_task_terms_its_launcher,
    }]);
}

fn park(_: ()) -> u32 {
    std::thread::sleep(Duration::from_secs(600));
    0
}

fn cube(x: i64) -> i64 {
    x * x * x
}

fn a_timed_out_remote_task_terms_its_launcher() {
    let mark = std::env::temp_dir().join(format!("tulip-launcher-term-{}", std::process::id()));
    let _ = std::fs::remove_file(&mark);
    // The worker's command runs in the background (its stdin passed through fd 3: a background command's own is /dev/null), so the shell can trap SIGTERM.
    let script = format!(
        "trap 'echo term > \"{}\"; kill $c; exit 0' TERM; exec 3<&0; \"$@\" <&3 3<&- & c=$!; wait $c",
        mark.display()
    );
    let pool = ProcessPool::builder()
        .launcher(Launcher::command(["sh", "-c", &script, "sh"]))
        .max_workers(1)
        .task_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    assert!(matches!(pool.submit(park, ()).unwrap().wait(), Err(JobError::TimedOut(_))));
    eventually(Duration::from_secs(5), "the launcher got SIGTERM", || mark.exists());
    let _ = std::fs::remove_file(&mark);
    assert_eq!(pool.submit(cube, 3).unwrap().wait(), Ok(27), "the pool goes on");
}
