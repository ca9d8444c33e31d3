#![allow(dead_code)] // each test target uses a different subset of these helpers
//! A tiny runner for `harness = false` process-pool test targets.
//!
//! Cargo's default harness has its own `main`, which cannot call `tulip::process::init()` first, so
//! these targets bring their own: `main` calls `init()`, then `run` runs the named cases one after
//! the other (a filter argument selects cases by substring, as with libtest) and exits non-zero if
//! any failed. A case still running after [`HANG_LIMIT`] is taken for hung: the runner prints the
//! stacks of its threads (with `gdb` where it is installed) and exits non-zero, so a hang in CI
//! names its case and where it waits instead of ending as the step's own time limit.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one case may run before it is taken for hung (a liveness bound, far above any case's
/// time on a loaded machine).
pub const HANG_LIMIT: Duration = Duration::from_secs(120);

/// One behaviour under test.
pub struct Case {
    pub name: &'static str,
    pub run: fn(),
}

/// Runs the selected cases; exits with status 1 if one failed.
pub fn run(cases: &[Case]) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected: Vec<&Case> = cases
        .iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| c.name.contains(f.as_str())))
        .collect();
    if args.iter().any(|a| a == "--list") {
        // The listing format of libtest, for tools that ask for it.
        for case in &selected {
            println!("{}: test", case.name);
        }
        return;
    }
    println!("\nrunning {} tests", selected.len());
    let started = Instant::now();
    let mut failed = Vec::new();
    for case in &selected {
        let t = Instant::now();
        let watchdog = watch(case.name);
        let outcome = catch_unwind(AssertUnwindSafe(case.run));
        drop(watchdog);
        let verdict = if outcome.is_ok() { "ok" } else { "FAILED" };
        println!("test {} ... {verdict} ({:.2?})", case.name, t.elapsed());
        if outcome.is_err() {
            failed.push(case.name);
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed; finished in {:.2?}\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        selected.len() - failed.len(),
        failed.len(),
        started.elapsed()
    );
    if !failed.is_empty() {
        println!("failures: {failed:?}");
        std::process::exit(1);
    }
}

/// Starts a watchdog for case `name`: unless the returned sender is dropped within [`HANG_LIMIT`],
/// it prints where every thread waits and exits the process with status 1.
fn watch(name: &'static str) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if rx.recv_timeout(HANG_LIMIT) != Err(mpsc::RecvTimeoutError::Timeout) {
            return;
        }
        println!("test {name} ... HUNG: still running after {HANG_LIMIT:?}; its threads:");
        print_stacks();
        std::process::exit(1);
    });
    tx
}

/// Prints the stack of every thread of this process: `gdb`'s backtraces if it is installed, else
/// (Linux) each thread's name, kernel wait channel and system call.
fn print_stacks() {
    // Where Yama allows tracing descendants only, a child may attach to us only if we say so.
    #[cfg(target_os = "linux")]
    // SAFETY: a prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PTRACER, libc::PR_SET_PTRACER_ANY);
    }
    let gdb = std::process::Command::new("gdb")
        .args(["-p", &std::process::id().to_string(), "-batch", "-ex", "thread apply all bt"])
        .output();
    if let Some(out) = gdb.ok().filter(|o| o.status.success()) {
        println!("{}", String::from_utf8_lossy(&out.stdout));
        return;
    }
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return };
    for task in tasks.flatten() {
        let read = |f: &str| std::fs::read_to_string(task.path().join(f)).unwrap_or_default();
        let (comm, wchan, syscall) = (read("comm"), read("wchan"), read("syscall"));
        println!("thread {:?} {}: wchan {wchan}, syscall {}", task.file_name(), comm.trim(), syscall.trim());
    }
}

/// Polls `cond` until it holds; panics with `what` after `limit` (a liveness bound, not a timing).
pub fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether a process with this pid exists (alive or zombie).
#[cfg(unix)]
pub fn pid_exists(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// Whether a process with this pid still runs.
#[cfg(windows)]
pub fn pid_exists(pid: u32) -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, WAIT_TIMEOUT};
    use windows_sys::Win32::System::Threading::{OpenProcess, WaitForSingleObject, PROCESS_SYNCHRONIZE};
    // SAFETY: opens a handle for waiting only; closed below.
    let h = unsafe { OpenProcess(PROCESS_SYNCHRONIZE, 0, pid) };
    if h.is_null() {
        return false;
    }
    // SAFETY: `h` is the handle just opened.
    let running = unsafe { WaitForSingleObject(h, 0) } == WAIT_TIMEOUT;
    // SAFETY: as above.
    unsafe { CloseHandle(h) };
    running
}
