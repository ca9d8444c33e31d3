#[path = "../support/process_harness.rs"]
mod harness;

use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use harness::Case;
use tulip::ProcessPool;

const ROLE: &str = "TULIP_TEST_ROLE";

fn main() {
    tulip::process::init();
    if std::env::var(ROLE).as_deref() == Ok("orphan-parent") {
        return orphan_parent();
    }
    harness::run(&[
        Case {
            name: "workers_inherit_only_stdio_and_their_channels",
            run: workers_inherit_only_stdio_and_their_channels,
        },
        Case { name: "killed_parent_leaves_no_worker", run: killed_parent_leaves_no_worker },
    ]);
}

/// `(fd, what it points to)` for every open descriptor of the calling process.
fn list_fds(_: ()) -> Vec<(i32, String)> {
    let me = format!("/proc/{}/fd", std::process::id());
    let mut fds: Vec<(i32, String)> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let fd: i32 = e.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(e.path()).ok()?.to_string_lossy().into_owned();
            // The directory listing itself is open while we list.
            (target != me).then_some((fd, target))
        })
        .collect();
    fds.sort();
    fds
}

fn workers_inherit_only_stdio_and_their_channels() {
    // Descriptors without close-on-exec, as a careless library or a parent shell might leave.
    // SAFETY: plain descriptor calls; both are closed at the end.
    let leaked = unsafe {
        let path = CString::new("/dev/null").unwrap();
        [libc::dup(2), libc::open(path.as_ptr(), libc::O_RDONLY)]
    };
    assert!(leaked.iter().all(|fd| *fd > 2));
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let fds = pool.submit(list_fds, ()).unwrap().wait().unwrap();
    let numbers: Vec<i32> = fds.iter().map(|(fd, _)| *fd).collect();
    assert_eq!(numbers, vec![0, 1, 2, 3, 4], "{fds:?}");
    assert_eq!(fds[0].1, "/dev/null", "stdin");
    let mine = list_fds(());
    let target =
        |fd: i32, list: &[(i32, String)]| list.iter().find(|(f, _)| *f == fd).map(|(_, t)| t.clone());
    assert_eq!(target(1, &fds), target(1, &mine), "stdout is inherited");
    assert_eq!(target(2, &fds), target(2, &mine), "stderr is inherited");
    assert!(fds[3].1.starts_with("socket:") && fds[4].1.starts_with("pipe:"), "{fds:?}");
    for fd in leaked {
        // SAFETY: closes the descriptors opened above.
        unsafe { libc::close(fd) };
    }
}

fn nap_pid(ms: u64) -> u32 {
    std::thread::sleep(Duration::from_millis(ms));
    std::process::id()
}

/// Runs in a child copy of this test: a pool with one busy and one idle worker, whose pids it prints;
/// then it waits to be killed.
fn orphan_parent() {
    let pool = ProcessPool::builder().max_workers(2).min_workers(2).build().unwrap();
    // One task per worker: both are busy until their results are in.
    let a = pool.submit(nap_pid, 200).unwrap();
    let b = pool.submit(nap_pid, 200).unwrap();
    let (a, b) = (a.wait().unwrap(), b.wait().unwrap());
    assert_ne!(a, b);
    let busy = pool.submit(nap_pid, 600_000).unwrap();
    while pool.stats().running == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("{a} {b}");
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(600));
    drop(busy);
}

/// Alive means running: a zombie (dead, waiting for its new parent to reap it) is not.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(stat.rsplit(") ").next().and_then(|s| s.chars().next()), Some('Z' | 'X')),
        Err(_) => false,
    }
}

fn killed_parent_leaves_no_worker() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(ROLE, "orphan-parent")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let pids: Vec<u32> = line.split_whitespace().map(|p| p.parse().unwrap()).collect();
    assert_eq!(pids.len(), 2, "{line:?}");
    assert!(pids.iter().all(|p| alive(*p)));
    child.kill().unwrap();
    child.wait().unwrap();
    harness::eventually(Duration::from_secs(1), "the workers die with their parent", || {
        pids.iter().all(|p| !alive(*p))
    });
}
