#[path = "../support/process_harness.rs"]
mod harness;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use harness::Case;
use tulip::subprocess::Command;

const INTERMEDIATE: &str = "TULIP_TEST_INTERMEDIATE";

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
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn children_die_with_parent() {
    let pids = kill_a_parent("die");
    for pid in pids {
        harness::eventually(Duration::from_secs(1), "the child dies with its parent", || !alive(pid));
    }
}

fn children_outlive_parent() {
    let pids = kill_a_parent("live");
    std::thread::sleep(Duration::from_millis(200));
    for &pid in &pids {
        assert!(alive(pid), "child {pid} died without die_with_parent");
        // SAFETY: the pid was just seen alive; it is an orphan of the killed intermediate.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    }
}
