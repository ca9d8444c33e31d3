#![allow(dead_code)] // each test target uses a different subset of these helpers
//! A tiny runner for `harness = false` process-pool test targets.
//!
//! Cargo's default harness has its own `main`, which cannot call `tulip::process::init()` first, so
//! these targets bring their own: `main` calls `init()`, then `run` runs the named cases one after
//! the other (a filter argument selects cases by substring, as with libtest) and exits non-zero if
//! any failed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

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
        let outcome = catch_unwind(AssertUnwindSafe(case.run));
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
