#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use tulip::process::Launcher;
use tulip::ProcessPool;

fn main() {
    tulip::process::init();
    harness::run(&[harness::Case {
        name: "a_slow_done_callback_does_not_make_a_link_silent",
        run: a_slow_done_callback_does_not_make_a_link_silent,
    }]);
}

fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn a_slow_done_callback_does_not_make_a_link_silent() {
    // Silence limit: three beats, 150 ms; the callback holds the driver for four times that.
    let launcher = Launcher::command(["sh", "-c", "exec \"$@\"", "sh"]).heartbeat(Duration::from_millis(50));
    let pool = ProcessPool::builder().launcher(launcher).max_workers(1).build().unwrap();
    assert_eq!(pool.submit(nap, 0).unwrap().wait(), Ok(0), "the worker is up");
    let first = pool.submit(nap, 50).unwrap();
    // Sent behind the first, so it runs while the callback holds the driver.
    let second = pool.submit(nap, 800).unwrap();
    first.add_done_callback(|_| std::thread::sleep(Duration::from_millis(600)));
    assert_eq!(first.wait(), Ok(50));
    assert_eq!(second.wait(), Ok(800), "the link was heard from all along");
    assert_eq!(pool.stats().worker_deaths, 0);
}
