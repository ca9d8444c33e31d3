use std::time::{Duration, Instant};

use futures_lite::io::{AsyncBufReadExt, BufReader};
use tulip::subprocess::{Command, Stdio};

/// Whether `pid` runs (a zombie left to a container's init that does not reap counts as dead).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Starts a shell that starts `sleep 60` and waits for it; returns the sleep's pid after `stop`.
fn grandchild_after(group: bool, stop: fn(&mut tulip::subprocess::Child) -> bool) -> u32 {
    tulip::run(async move {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "sleep 60 & echo $!; wait"]).stdout(Stdio::piped());
        if group {
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).await.unwrap();
        assert!(stop(&mut child));
        child.wait().await.unwrap();
        line.trim().parse().unwrap()
    })
}

#[test]
fn the_whole_group_is_killed() {
    let pid = grandchild_after(true, |c| c.kill_process_group());
    let start = Instant::now();
    while alive(pid) {
        assert!(start.elapsed() < Duration::from_secs(5), "grandchild {pid} survived its group's kill");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_plain_kill_reaches_only_the_child() {
    let pid = grandchild_after(false, |c| c.kill());
    std::thread::sleep(Duration::from_millis(100));
    assert!(alive(pid), "the grandchild was expected to survive a plain kill");
    // SAFETY: the pid was just seen alive: the orphaned sleep.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
}
