//! W8a–W8c: the process pool with workers over ssh, against the two sshd's of
//! `scripts/engines.sh` (127.0.0.1 and 127.0.0.2 as hosts `tulip-1` and `tulip-2`). The local pool's
//! W5a/W5b in the same run are the reference; W8b is printed beside the link's own round trip (a
//! plain `ssh ... cat` echoing 16 bytes). Skipped with a notice where sshd cannot be started.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tulip::process::Launcher;
use tulip::ProcessPool;

use crate::process::add_one;
use crate::{median, Report};

pub fn run(report: &mut Report) {
    if !["W8a", "W8b", "W8c"].iter().any(|w| report.wants(w)) {
        return;
    }
    let Some(config) = engines() else {
        eprintln!("W8: skipped, scripts/engines.sh could not start sshd (install openssh-server)");
        return;
    };
    if report.wants("W8a") {
        w8a(report, &config);
    }
    if report.wants("W8b") {
        w8b(report, &config);
    }
    if report.wants("W8c") {
        w8c(report, &config);
    }
}

fn engines() -> Option<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/engines.sh");
    let out = Command::new("bash").arg(script).arg("start").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Workers over ssh to `hosts`, the binary on a "shared path" (this very file: the hosts are here).
fn launcher(config: &str, hosts: &[&str]) -> Launcher {
    let exe = std::env::current_exe().expect("this program's path");
    let mut l = Launcher::ssh(hosts[0]).ssh_arg("-F").ssh_arg(config).remote_path(exe);
    for h in &hosts[1..] {
        l = l.host(*h);
    }
    l
}

fn pool(config: &str, hosts: &[&str], workers: usize) -> ProcessPool {
    let l = launcher(config, hosts);
    let pool = ProcessPool::builder().launcher(l).max_workers(workers).min_workers(workers).build();
    let pool = pool.expect("remote pool");
    while pool.stats().idle < workers {
        std::thread::sleep(Duration::from_millis(1));
    }
    pool
}

/// W8a: a pool of 2 over ssh to 127.0.0.1, up to its first result; median ms of 3.
fn w8a(report: &mut Report, config: &str) {
    let runs: Vec<f64> = (0..3)
        .map(|_| {
            let t = Instant::now();
            let l = launcher(config, &["tulip-1"]);
            let pool = ProcessPool::builder().launcher(l).max_workers(2).build().expect("remote pool");
            assert_eq!(pool.submit(add_one, 1).unwrap().wait(), Ok(2));
            let ms = t.elapsed().as_secs_f64() * 1e3;
            pool.shutdown_timeout(Duration::MAX);
            ms
        })
        .collect();
    report.emit("tulip-ssh", "W8a", median(runs), "ms", 3);
}

/// W8b: N sequential trivial tasks over ssh, and N 16-byte echoes through a plain `ssh tulip-1
/// cat`, in alternating blocks of N/10 (both see the machine in the same state: on a shared VM a
/// wakeup's cost drifts within seconds); the median block of each, in µs per round trip.
fn w8b(report: &mut Report, config: &str) {
    let n = report.scale(2_000, 10);
    let block = (n / 10).max(1);
    let pool = pool(config, &["tulip-1"], 2);
    let mut echo = SshEcho::start(config);
    for i in 0..100 {
        pool.submit(add_one, i).unwrap().wait().unwrap();
        echo.round_trip();
    }
    let (mut ours, mut link) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        let t = Instant::now();
        for i in 0..block as u64 {
            assert_eq!(pool.submit(add_one, i).unwrap().wait(), Ok(i + 1));
        }
        ours.push(t.elapsed().as_secs_f64() * 1e6 / block as f64);
        let t = Instant::now();
        for _ in 0..block {
            echo.round_trip();
        }
        link.push(t.elapsed().as_secs_f64() * 1e6 / block as f64);
    }
    pool.shutdown_timeout(Duration::MAX);
    report.emit("tulip-ssh", "W8b", median(ours), "us/task", n);
    report.emit("ssh-cat", "W8b", median(link), "us/round-trip", n);
}

/// The link's own round trip: 16 bytes through `ssh tulip-1 cat`.
struct SshEcho {
    child: std::process::Child,
    /// `None` once closed, which ends `cat` and the session.
    input: Option<std::process::ChildStdin>,
    output: std::process::ChildStdout,
}

impl SshEcho {
    fn start(config: &str) -> SshEcho {
        let mut child = Command::new("ssh")
            .args(["-F", config, "-T", "tulip-1", "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("ssh");
        let (input, output) = (child.stdin.take(), child.stdout.take().unwrap());
        SshEcho { child, input, output }
    }

    fn round_trip(&mut self) {
        let (msg, mut back) = ([7u8; 16], [0u8; 16]);
        self.input.as_mut().expect("open").write_all(&msg).unwrap();
        self.output.read_exact(&mut back).unwrap();
    }
}

impl Drop for SshEcho {
    fn drop(&mut self) {
        self.input = None;
        let _ = self.child.wait();
    }
}

/// W8c: 10,000 trivial tasks at once over two ssh "hosts", 2 workers each; tasks/s.
fn w8c(report: &mut Report, config: &str) {
    let n = report.scale(10_000, 10);
    let pool = pool(config, &["tulip-1", "tulip-2"], 4);
    let t = Instant::now();
    let futs: Vec<_> = (0..n as u64).map(|i| pool.submit(add_one, i).unwrap()).collect();
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait(), Ok(i as u64 + 1));
    }
    report.emit("tulip-ssh", "W8c", n as f64 / t.elapsed().as_secs_f64(), "tasks/s", n);
    pool.shutdown_timeout(Duration::MAX);
}
