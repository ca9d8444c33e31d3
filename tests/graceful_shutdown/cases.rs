#[path = "../support/process_harness.rs"]
mod harness;

#[path = "../../examples/graceful_shutdown.rs"]
mod example;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use harness::Case;

const SERVICE: &str = "TULIP_TEST_SERVICE";
const REQUESTS: u64 = 20;

fn main() {
    tulip::process::init();
    if std::env::var_os(SERVICE).is_some() {
        std::process::exit(example::service());
    }
    harness::run(&[Case { name: "sigterm_mid_load_loses_nothing", run: sigterm_mid_load }]);
}

/// The pids whose parent is `parent` (the service's pool workers).
fn children_of(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
        if fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            found.push(pid);
        }
    }
    found
}

/// Whether `pid` runs (a zombie left to a container's init that does not reap counts as gone).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn sigterm_mid_load() {
    let mut service = Command::new(std::env::current_exe().unwrap())
        .env(SERVICE, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(service.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on ").expect("the service's first line").to_string();

    // Every request is acknowledged (so accepted and in flight) before SIGTERM is sent.
    let mut conns = Vec::new();
    for n in 0..REQUESTS {
        let mut c = TcpStream::connect(&addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        writeln!(c, "{n}").unwrap();
        let mut ok = [0; 3];
        c.read_exact(&mut ok).unwrap();
        assert_eq!(&ok, b"ok\n");
        conns.push(c);
    }
    let workers = children_of(service.id());
    assert!(!workers.is_empty(), "the service's process pool has a worker by now");
    // SAFETY: signals our own child, not yet waited for.
    unsafe { libc::kill(service.id() as libc::pid_t, libc::SIGTERM) };

    for (n, c) in conns.into_iter().enumerate() {
        let n = n as u64;
        let mut answer = String::new();
        BufReader::new(c).read_line(&mut answer).unwrap();
        assert_eq!(answer, format!("{} {}\n", n + 1, n * n), "request {n}");
    }
    let status = service.wait().unwrap();
    assert_eq!(status.code(), Some(0), "the service's exit");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(rest.starts_with(&format!("drained {REQUESTS} requests")), "{rest}");
    assert!(TcpStream::connect(&addr).is_err(), "the service still accepts");
    for pid in workers {
        assert!(!alive(pid), "worker {pid} outlived the service");
    }
}
