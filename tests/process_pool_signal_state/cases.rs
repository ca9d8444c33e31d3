#[path = "../support/process_harness.rs"]
mod harness;

use harness::Case;
use tulip::ProcessPool;

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "workers_do_not_inherit_ignored_signals",
        run: workers_do_not_inherit_ignored_signals,
    }]);
}

/// The worker's mask of ignored signals (`SigIgn` in `/proc/self/status`), and whether a child
/// process's exit status can be collected.
fn signal_state(_: ()) -> (u64, Result<i32, String>) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("SigIgn:")).unwrap();
    let ignored = u64::from_str_radix(line["SigIgn:".len()..].trim(), 16).unwrap();
    let exit = std::process::Command::new("sh")
        .args(["-c", "exit 3"])
        .output()
        .map(|o| o.status.code().unwrap_or(-1))
        .map_err(|e| e.to_string());
    (ignored, exit)
}

fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

fn workers_do_not_inherit_ignored_signals() {
    let ignored = [libc::SIGCHLD, libc::SIGINT, libc::SIGHUP];
    // SAFETY: sets signal dispositions; this test target runs nothing else.
    let old: Vec<_> = ignored.iter().map(|&s| unsafe { libc::signal(s, libc::SIG_IGN) }).collect();
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let (mask, exit) = pool.submit(signal_state, ()).unwrap().wait().unwrap();
    drop(pool);
    for (&s, &o) in ignored.iter().zip(&old) {
        // SAFETY: puts back the dispositions found above.
        unsafe { libc::signal(s, o) };
    }
    for s in ignored {
        assert_eq!(mask & bit(s), 0, "signal {s} is ignored in the worker (SigIgn {mask:#x})");
    }
    assert_eq!(exit, Ok(3), "a task's child process could not be waited for");
}
