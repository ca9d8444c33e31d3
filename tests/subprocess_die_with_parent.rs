//! Subprocesses: children spawned with `die_with_parent` die when their parent is SIGKILLed
//! (none left a second later); without it they outlive it (the control case).
//!
//! The parent is this test program run again as an intermediate (`TULIP_TEST_INTERMEDIATE` set):
//! it spawns the children, prints their pids, and waits to be killed.

#[cfg(windows)]
fn main() {
    println!("skipped on Windows: tulip::subprocess is Unix-only for now (README, Platforms)");
}

#[cfg(unix)]
#[path = "support/process_harness.rs"]
mod harness;

#[cfg(unix)]
use std::io::{BufRead, BufReader, Write};
#[cfg(unix)]
use std::process::Stdio;
#[cfg(unix)]
use std::time::Duration;

#[cfg(unix)]
use harness::Case;
#[cfg(unix)]
use tulip::subprocess::Command;

#[cfg(unix)]
const INTERMEDIATE: &str = "TULIP_TEST_INTERMEDIATE";

#[cfg(unix)]
fn main() {
    tulip::process::init();
    if let Some(mode) = std::env::var_os(INTERMEDIATE) {
        intermediate(mode == "die");
    }
    harness::run(&[
        Case { name: "children_die_with_a_killed_parent", run: children_die_with_parent },
        Case { name: "without_it_children_outlive_the_parent", run: children_outlive_parent },
    ]);
}

/// Spawns three `sleep 60` children, prints their pids, then blocks until killed.
#[cfg(unix)]
fn intermediate(die_with_parent: bool) -> ! {
    let pids = tulip::run(async move {
        let mut pids = Vec::new();
        for _ in 0..3 {
            let mut cmd = Command::new("sleep");
            cmd.arg("60").die_with_parent(die_with_parent);
            let child = cmd.spawn().unwrap();
            pids.push(child.id());
            std::mem::forget(child);
        }
        pids
    });
    let line: Vec<String> = pids.iter().map(u32::to_string).collect();
    let mut out = std::io::stdout();
    writeln!(out, "{}", line.join(" ")).unwrap();
    out.flush().unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Runs the intermediate, SIGKILLs it once its children run, and returns their pids.
#[cfg(unix)]
fn kill_a_parent(mode: &str) -> Vec<u32> {
    let mut parent = std::process::Command::new(std::env::current_exe().unwrap())
        .env(INTERMEDIATE, mode)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(parent.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let pids: Vec<u32> = line.split_whitespace().map(|p| p.parse().unwrap()).collect();
    assert_eq!(pids.len(), 3, "intermediate said {line:?}");
    parent.kill().unwrap();
    parent.wait().unwrap();
    pids
}

/// Whether `pid` runs (a zombie left to a container's init that does not reap counts as dead).
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[cfg(unix)]
fn children_die_with_parent() {
    let pids = kill_a_parent("die");
    for pid in pids {
        harness::eventually(Duration::from_secs(1), "the child dies with its parent", || !alive(pid));
    }
}

#[cfg(unix)]
fn children_outlive_parent() {
    let pids = kill_a_parent("live");
    std::thread::sleep(Duration::from_millis(200));
    for &pid in &pids {
        assert!(alive(pid), "child {pid} died without die_with_parent");
        // SAFETY: the pid was just seen alive; it is an orphan of the killed intermediate.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    }
}
