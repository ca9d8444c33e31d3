#[path = "../support/process_harness.rs"]
mod harness;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use harness::{eventually, Case};
use tulip::process::Launcher;
use tulip::{BuildError, JobError, ProcessPool};

fn main() {
    tulip::process::init();
    if engines().is_none() {
        println!("remote_ssh: SKIPPED, scripts/engines.sh could not start sshd (install openssh-server)");
        return;
    }
    harness::run(&[
        Case { name: "ten_thousand_results_come_from_both_hosts", run: results_come_from_both_hosts },
        Case {
            name: "a_host_that_lost_a_worker_gets_its_replacement",
            run: a_host_that_lost_a_worker_gets_its_replacement,
        },
        Case {
            name: "a_worker_killed_on_its_host_is_worker_died",
            run: a_worker_killed_on_its_host_is_worker_died,
        },
        Case { name: "a_lost_session_leaves_no_orphan", run: a_lost_session_leaves_no_orphan },
        Case {
            name: "a_task_timeout_kills_the_remote_process",
            run: a_task_timeout_kills_the_remote_process,
        },
        Case { name: "a_stopped_worker_is_worker_died", run: a_stopped_worker_is_worker_died },
        Case { name: "upload_once_reuse_and_refuse_tampering", run: upload_once_reuse_and_refuse_tampering },
    ]);
}

/// The ssh_config that names the two hosts, once the sshd's run.
fn engines() -> Option<&'static PathBuf> {
    static CONFIG: OnceLock<Option<PathBuf>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/engines.sh");
            let out = Command::new("bash").arg(script).arg("start").output().ok()?;
            if !out.status.success() {
                eprintln!("{}", String::from_utf8_lossy(&out.stderr));
                return None;
            }
            Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
        .as_ref()
}

fn launcher(hosts: &[&str]) -> Launcher {
    let config = engines().expect("engines").display().to_string();
    let mut l = Launcher::ssh(hosts[0]).ssh_arg("-F").ssh_arg(config);
    for h in &hosts[1..] {
        l = l.host(*h);
    }
    l
}

fn pool(hosts: &[&str], workers: usize) -> ProcessPool {
    ProcessPool::builder()
        .launcher(launcher(hosts))
        .max_workers(workers)
        .min_workers(workers)
        .build()
        .unwrap()
}

/// The address the worker's ssh session came in on: which "host" it runs on.
fn server_addr(_: ()) -> String {
    let conn = std::env::var("SSH_CONNECTION").unwrap_or_default();
    conn.split(' ').nth(2).unwrap_or("").to_string()
}

fn square(x: u64) -> u64 {
    x * x
}

/// Writes this worker's pid to `path`, then sleeps far longer than any test.
fn park(path: String) -> u32 {
    std::fs::write(&path, std::process::id().to_string()).unwrap();
    std::thread::sleep(Duration::from_secs(600));
    0
}

/// Whether `pid` runs (a zombie does not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

/// Submits `park`, waits for its pid on the host.
fn parked(pool: &ProcessPool, tag: &str) -> (tulip::ConcurrentFuture<u32>, u32) {
    let path = std::env::temp_dir().join(format!("tulip-remote-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let fut = pool.submit(park, path.display().to_string()).unwrap();
    let mut pid = 0;
    eventually(Duration::from_secs(30), "the parked task starts", || {
        pid = std::fs::read_to_string(&path).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        pid != 0
    });
    let _ = std::fs::remove_file(&path);
    (fut, pid)
}

fn results_come_from_both_hosts() {
    let pool = pool(&["tulip-1", "tulip-2"], 2);
    let futs: Vec<_> = (0..10_000u64).map(|i| pool.submit(square, i).unwrap()).collect();
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait(), Ok(i as u64 * i as u64));
    }
    let mut seen = HashSet::new();
    eventually(Duration::from_secs(30), "tasks ran on both hosts", || {
        let batch: Vec<_> = (0..20).map(|_| pool.submit(server_addr, ()).unwrap()).collect();
        seen.extend(batch.into_iter().map(|f| f.wait().unwrap()));
        seen.contains("127.0.0.1") && seen.contains("127.0.0.2")
    });
}

/// Where the worker runs, and its pid.
fn addr_and_pid(_: ()) -> (String, u32) {
    (server_addr(()), std::process::id())
}

/// Runs batches of `addr_and_pid` until one comes from `addr`; its pid.
fn pid_on(pool: &ProcessPool, addr: &str) -> u32 {
    let mut found = None;
    eventually(Duration::from_secs(30), &format!("a worker on {addr} answers"), || {
        let batch: Vec<_> = (0..20).map(|_| pool.submit(addr_and_pid, ()).unwrap()).collect();
        // A task sent to the killed worker before its death was seen fails; only placement matters here.
        found = batch.into_iter().filter_map(|f| f.wait().ok()).find(|(a, _)| a == addr).map(|(_, p)| p);
        found.is_some()
    });
    found.unwrap()
}

fn a_host_that_lost_a_worker_gets_its_replacement() {
    let pool = pool(&["tulip-1", "tulip-2"], 2);
    let victim = pid_on(&pool, "127.0.0.2");
    // SAFETY: signals a process this test started (through ssh) and knows the pid of.
    unsafe { libc::kill(victim as libc::pid_t, libc::SIGKILL) };
    eventually(Duration::from_secs(10), "the killed worker is gone", || !running(victim));
    let replacement = pid_on(&pool, "127.0.0.2");
    assert_ne!(replacement, victim);
}

fn a_worker_killed_on_its_host_is_worker_died() {
    let pool = pool(&["tulip-1"], 1);
    let (fut, pid) = parked(&pool, "kill");
    // SAFETY: signals a process this test started (through ssh) and knows the pid of.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    match fut.wait() {
        Err(JobError::WorkerDied(m)) => assert!(m.contains("tulip-1") && m.contains("SIGKILL"), "{m}"),
        other => panic!("expected WorkerDied, got {other:?}"),
    }
    assert_eq!(pool.submit(square, 7).unwrap().wait(), Ok(49), "the pool heals");
}

fn a_stopped_worker_is_worker_died() {
    let pool = pool(&["tulip-1"], 1);
    let (mut fut, pid) = parked(&pool, "stop");
    // SAFETY: signals a process this test started (through ssh) and knows the pid of.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) };
    match fut.wait_timeout(Duration::from_secs(20)) {
        Some(Err(JobError::WorkerDied(m))) => assert!(m.contains("tulip-1"), "{m}"),
        other => panic!("expected WorkerDied, got {other:?}"),
    }
    eventually(Duration::from_secs(10), "the stopped worker is gone", || !running(pid));
    assert_eq!(pool.submit(square, 4).unwrap().wait(), Ok(16), "the pool heals");
}

fn a_lost_session_leaves_no_orphan() {
    let pool = pool(&["tulip-2"], 1);
    let (fut, pid) = parked(&pool, "session");
    let nanny = parent_of(pid);
    let session = parent_of(nanny);
    // SAFETY: kills the sshd session process that serves this test's own connection.
    unsafe { libc::kill(session as libc::pid_t, libc::SIGKILL) };
    match fut.wait() {
        Err(JobError::WorkerDied(m)) => assert!(m.contains("tulip-2"), "{m}"),
        other => panic!("expected WorkerDied, got {other:?}"),
    }
    eventually(Duration::from_secs(10), "the remote worker is gone", || !running(pid) && !running(nanny));
    assert_eq!(pool.submit(square, 3).unwrap().wait(), Ok(9), "the pool heals");
}

fn a_task_timeout_kills_the_remote_process() {
    let pool = ProcessPool::builder()
        .launcher(launcher(&["tulip-1"]))
        .max_workers(1)
        .task_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let (fut, pid) = parked(&pool, "timeout");
    assert!(matches!(fut.wait(), Err(JobError::TimedOut(_))));
    eventually(Duration::from_secs(10), "the timed-out remote worker is gone", || !running(pid));
    assert_eq!(pool.submit(square, 5).unwrap().wait(), Ok(25));
}

fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit(')').next().unwrap();
    rest.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn cached_binary() -> PathBuf {
    use sha2::Digest;
    let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let hash: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let home = std::env::var("HOME").unwrap();
    PathBuf::from(home).join(".cache/tulip").join(hash)
}

fn upload_once_reuse_and_refuse_tampering() {
    let cached = cached_binary();
    let _ = std::fs::remove_file(&cached);
    let first = pool(&["tulip-1"], 1);
    assert_eq!(first.submit(square, 2).unwrap().wait(), Ok(4));
    let uploaded = std::fs::metadata(&cached).expect("the program was uploaded").modified().unwrap();
    let second = pool(&["tulip-2"], 1);
    assert_eq!(second.submit(square, 3).unwrap().wait(), Ok(9));
    assert_eq!(std::fs::metadata(&cached).unwrap().modified().unwrap(), uploaded, "reused, not re-sent");
    drop((first, second));
    // A different file under the same name (the old one may still run: replaced, not rewritten).
    let mut bytes = std::fs::read(&cached).unwrap();
    bytes.extend_from_slice(b"tampered");
    let tmp = cached.with_extension("tampered");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, &cached).unwrap();
    let built = ProcessPool::builder().launcher(launcher(&["tulip-1"])).max_workers(1).build();
    let _ = std::fs::remove_file(&cached);
    match built {
        Err(BuildError::Handshake(m)) => assert!(m.contains("SHA-256"), "{m}"),
        other => panic!("expected a handshake refusal, got {:?}", other.map(|_| ())),
    }
}
