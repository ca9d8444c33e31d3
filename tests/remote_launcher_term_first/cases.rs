#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::{eventually, Case};
use tulip::process::Launcher;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_shutdown_deadline_terms_the_launcher",
        run: a_shutdown_deadline_terms_the_launcher,
    }]);
}

/// Writes `path`, then sleeps far longer than any test.
fn park(path: String) -> u32 {
    std::fs::write(path, b"started").unwrap();
    std::thread::sleep(Duration::from_secs(600));
    0
}

fn a_shutdown_deadline_terms_the_launcher() {
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
        .build()
        .unwrap();
    let started = mark.with_extension("started");
    let _ = std::fs::remove_file(&started);
    let fut = pool.submit(park, started.display().to_string()).unwrap();
    eventually(Duration::from_secs(30), "the task runs", || started.exists());
    let report = pool.shutdown_timeout(Duration::from_millis(100));
    assert_eq!(report.still_running, 1);
    assert_eq!(fut.wait(), Err(JobError::ShutDown));
    eventually(Duration::from_secs(5), "the launcher got SIGTERM", || mark.exists());
    let _ = std::fs::remove_file(&mark);
    let _ = std::fs::remove_file(&started);
}
