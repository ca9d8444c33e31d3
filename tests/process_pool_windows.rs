//! Process pool: the behaviours every platform must have, written to run on Windows (under Wine
//! here, `bash scripts/windows.sh --test process_pool_windows`) as well as on Unix: a round trip,
//! a panicking task, a timeout that kills, a worker that dies and is replaced, and a shutdown that
//! leaves no worker process behind. On Windows also: a kill takes the processes the task started
//! (the worker's Job object; on Unix `process_pool_kill_group` pins it), and remote launchers are
//! refused with a typed error.

#[path = "support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::Case;
#[cfg(windows)]
use tulip::{process::Launcher, BuildError};
use tulip::{JobError, ProcessPool, SubmitError};

/// Set in a process a task starts (see [`start_sleeper_and_hang`]): that process only sleeps.
const SLEEPER: &str = "PROCESS_POOL_WINDOWS_SLEEPER";
/// Set in a copy of this program that builds a pool, prints its worker's pid, and waits to be killed.
const POOL_OWNER: &str = "PROCESS_POOL_WINDOWS_POOL_OWNER";

fn main() {
    tulip::process::init();
    if std::env::var_os(SLEEPER).is_some() {
        std::thread::sleep(Duration::from_secs(30));
        return;
    }
    if std::env::var_os(POOL_OWNER).is_some() {
        return own_a_pool_until_killed();
    }
    harness::run(&[
        Case { name: "a_task_round_trips", run: a_task_round_trips },
        Case { name: "a_panicking_task_fails_alone", run: a_panicking_task_fails_alone },
        Case { name: "a_timeout_kills_the_worker", run: a_timeout_kills_the_worker },
        Case { name: "a_dead_worker_is_replaced", run: a_dead_worker_is_replaced },
        Case { name: "shutdown_leaves_no_worker", run: shutdown_leaves_no_worker },
        #[cfg(windows)]
        Case { name: "a_timeout_kills_what_the_task_started", run: a_timeout_kills_what_the_task_started },
        Case { name: "workers_die_with_a_killed_program", run: workers_die_with_a_killed_program },
        #[cfg(windows)]
        Case { name: "remote_launchers_are_refused", run: remote_launchers_are_refused },
    ]);
}

fn square(x: u64) -> u64 {
    x * x
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn boom(_: ()) -> u32 {
    panic!("boom")
}

fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn exit_now(code: i32) -> u32 {
    std::process::exit(code)
}

fn a_task_round_trips() {
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    assert_eq!(pool.submit(square, 7).unwrap().wait(), Ok(49));
    let squares: Vec<u64> = pool.map(square, 0..20u64).map(Result::unwrap).collect();
    assert_eq!(squares, (0..20u64).map(|x| x * x).collect::<Vec<_>>());
    assert_ne!(pool.submit(pid, ()).unwrap().wait().unwrap(), std::process::id());
}

fn a_panicking_task_fails_alone() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let worker = pool.submit(pid, ()).unwrap().wait().unwrap();
    match pool.submit(boom, ()).unwrap().wait() {
        Err(JobError::Panicked(msg)) => assert!(msg.contains("boom"), "{msg}"),
        other => panic!("expected Panicked, got {other:?}"),
    }
    // The worker survived its task's panic.
    assert_eq!(pool.submit(pid, ()).unwrap().wait(), Ok(worker));
}

fn a_timeout_kills_the_worker() {
    let pool =
        ProcessPool::builder().max_workers(1).task_timeout(Duration::from_millis(300)).build().unwrap();
    let before = pool.submit(pid, ()).unwrap().wait().unwrap();
    assert!(matches!(pool.submit(nap, 60_000).unwrap().wait(), Err(JobError::TimedOut(_))));
    let after = pool.submit(pid, ()).unwrap().wait().unwrap();
    assert_ne!(before, after, "the timed-out task's worker was killed and replaced");
    assert!(!harness::pid_exists(before));
}

fn a_dead_worker_is_replaced() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let before = pool.submit(pid, ()).unwrap().wait().unwrap();
    assert!(matches!(pool.submit(exit_now, 7).unwrap().wait(), Err(JobError::WorkerDied(_))));
    let after = pool.submit(pid, ()).unwrap().wait().unwrap();
    assert_ne!(before, after);
    assert_eq!(pool.stats().worker_deaths, 1);
}

fn shutdown_leaves_no_worker() {
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    let futs: Vec<_> = (0..4).map(|_| pool.submit(pid, ()).unwrap()).collect();
    let pids: Vec<u32> = futs.into_iter().map(|f| f.wait().unwrap()).collect();
    let stuck = pool.submit(nap, 60_000).unwrap();
    let report = pool.shutdown_timeout(Duration::from_millis(200));
    assert_eq!(report.still_running, 1);
    assert_eq!(stuck.wait(), Err(JobError::ShutDown));
    assert_eq!(pool.stats().workers, 0);
    assert!(matches!(pool.submit(pid, ()), Err(SubmitError::ShutDown)));
    for p in pids {
        assert!(!harness::pid_exists(p), "worker {p} outlived the shutdown");
    }
}

#[cfg(windows)]
fn remote_launchers_are_refused() {
    for launcher in [Launcher::ssh("elsewhere"), Launcher::command(["cmd", "/c"])] {
        match ProcessPool::builder().launcher(launcher).build() {
            Err(BuildError::InvalidConfig(msg)) => assert!(msg.contains("need a Unix host"), "{msg}"),
            other => panic!("expected InvalidConfig, got {:?}", other.err()),
        }
    }
}

/// Starts this program as a sleeper, writes its pid to `path`, then hangs past the pool's timeout.
#[cfg(windows)]
#[allow(clippy::zombie_processes)] // the kill of the worker's job ends it; nobody waits for it
fn start_sleeper_and_hang(path: std::path::PathBuf) -> u32 {
    let exe = std::env::current_exe().unwrap();
    let sleeper = std::process::Command::new(exe).env(SLEEPER, "1").spawn().unwrap();
    std::fs::write(&path, sleeper.id().to_string()).unwrap();
    std::thread::sleep(Duration::from_secs(60));
    sleeper.id()
}

#[cfg(windows)]
fn a_timeout_kills_what_the_task_started() {
    let path = std::env::temp_dir().join(format!("tulip-windows-tree-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let pool =
        ProcessPool::builder().max_workers(1).task_timeout(Duration::from_millis(500)).build().unwrap();
    let r = pool.submit(start_sleeper_and_hang, path.clone()).unwrap().wait();
    assert_eq!(r, Err(JobError::TimedOut(Duration::from_millis(500))));
    let pid: u32 = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let _ = std::fs::remove_file(&path);
    harness::eventually(Duration::from_secs(10), "the task's sleeper is gone", || !harness::pid_exists(pid));
}

fn own_a_pool_until_killed() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let worker = pool.submit(pid, ()).unwrap().wait().unwrap();
    // Busy when the program is killed: it would not notice its links closing before the task ends.
    let _busy = pool.submit(nap, 60_000).unwrap();
    println!("{worker}");
    std::thread::sleep(Duration::from_secs(60));
}

fn workers_die_with_a_killed_program() {
    use std::io::BufRead;
    let exe = std::env::current_exe().unwrap();
    let mut owner = std::process::Command::new(exe)
        .env(POOL_OWNER, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // One line, not to the end: the worker holds the same stdout.
    let mut line = String::new();
    std::io::BufReader::new(owner.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let worker: u32 = line.trim().parse().unwrap();
    assert!(harness::pid_exists(worker));
    owner.kill().unwrap();
    owner.wait().unwrap();
    harness::eventually(Duration::from_secs(10), "the killed program's worker is gone", || {
        !harness::pid_exists(worker)
    });
}
