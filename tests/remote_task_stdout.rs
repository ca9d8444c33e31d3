//! A remote task that prints to stdout does not break its link: the worker's stdout on the other
//! side goes to its stderr (which comes back prefixed with the host), never onto the link that
//! carries the pool's frames.

#[cfg(windows)]
fn main() {
    println!(
        "skipped on Windows: remote workers are process-pool workers, Unix-only for now (README, Platforms)"
    );
}

#[cfg(unix)]
#[path = "support/process_harness.rs"]
mod harness;

#[cfg(unix)]
use harness::Case;
#[cfg(unix)]
use tulip::process::Launcher;
#[cfg(unix)]
use tulip::ProcessPool;

#[cfg(unix)]
fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_task_printing_to_stdout_keeps_its_link",
        run: a_task_printing_to_stdout_keeps_its_link,
    }]);
}

/// Prints a line that is not a frame, flushes it, and returns.
#[cfg(unix)]
fn chatty(x: i64) -> i64 {
    use std::io::Write;
    println!("a line from a remote task: {x}");
    std::io::stdout().flush().unwrap();
    x + 1
}

#[cfg(unix)]
fn a_task_printing_to_stdout_keeps_its_link() {
    let pool = ProcessPool::builder()
        .launcher(Launcher::command(["sh", "-c", "exec \"$@\"", "sh"]))
        .max_workers(1)
        .build()
        .unwrap();
    for x in 0..3 {
        assert_eq!(pool.submit(chatty, x).unwrap().wait(), Ok(x + 1));
    }
    assert_eq!(pool.stats().worker_deaths, 0, "the link carried only frames");
}
