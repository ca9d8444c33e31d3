#[path = "../support/process_harness.rs"]
mod harness;

use harness::Case;
use tulip::process::Launcher;
use tulip::ProcessPool;

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "a_task_printing_to_stdout_keeps_its_link",
        run: a_task_printing_to_stdout_keeps_its_link,
    }]);
}

/// Prints a line that is not a frame, flushes it, and returns.
fn chatty(x: i64) -> i64 {
    use std::io::Write;
    println!("a line from a remote task: {x}");
    std::io::stdout().flush().unwrap();
    x + 1
}

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
