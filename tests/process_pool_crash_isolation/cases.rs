#[path = "../support/process_harness.rs"]
mod harness;

use std::io::Write;
use std::os::fd::FromRawFd;
use std::time::Duration;

use harness::Case;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "abort_in_one_task_while_others_run", run: abort_in_one_task_while_others_run },
        Case { name: "exit_status_is_reported", run: exit_status_is_reported },
        Case { name: "segfault_is_reported", run: segfault_is_reported },
        Case { name: "sigkill_from_outside_is_reported", run: sigkill_from_outside_is_reported },
        Case {
            name: "death_is_noticed_even_if_a_grandchild_holds_the_pipes",
            run: death_is_noticed_even_if_a_grandchild_holds_the_pipes,
        },
        Case {
            name: "death_after_a_direct_submit_is_noticed_even_if_a_grandchild_holds_the_pipes",
            run: death_after_a_direct_submit_is_noticed_even_if_a_grandchild_holds_the_pipes,
        },
        Case {
            name: "killed_before_it_starts_a_task_is_sent_elsewhere",
            run: killed_before_it_starts_a_task_is_sent_elsewhere,
        },
        Case { name: "malformed_frame_kills_only_that_worker", run: malformed_frame_kills_only_that_worker },
        Case { name: "oversize_frame_kills_only_that_worker", run: oversize_frame_kills_only_that_worker },
    ]);
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn nap_then(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn abort_after(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    std::process::abort()
}

fn died_with(r: Result<impl std::fmt::Debug, JobError>, what: &str) {
    match r {
        Err(JobError::WorkerDied(how)) => assert!(how.contains(what), "{how:?} does not say {what:?}"),
        other => panic!("expected WorkerDied({what}), got {other:?}"),
    }
}

fn abort_in_one_task_while_others_run() {
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    let mut futs = Vec::new();
    for i in 0..8u64 {
        futs.push(if i == 3 {
            pool.submit(abort_after, 30).unwrap()
        } else {
            pool.submit(nap_then, 60 + i).unwrap()
        });
    }
    for (i, f) in futs.into_iter().enumerate() {
        if i == 3 {
            died_with(f.wait(), "killed by signal 6 (SIGABRT)");
        } else {
            assert_eq!(f.wait(), Ok(60 + i as u64), "task {i}");
        }
    }
    let s = pool.stats();
    assert_eq!(s.worker_deaths, 1);
    assert_eq!(s.completed, 7);
    // The pool replaced the worker and goes on.
    assert_eq!(pool.submit(nap_then, 1).unwrap().wait(), Ok(1));
}

fn exit_status_is_reported() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let before = pool.submit(pid, ()).unwrap().wait().unwrap();
    died_with(
        pool.submit(|code: i32| -> u8 { std::process::exit(code) }, 3).unwrap().wait(),
        "exited with status 3",
    );
    let after = pool.submit(pid, ()).unwrap().wait().unwrap();
    assert_ne!(before, after, "a new worker runs the next task");
}

fn segfault(_: ()) -> u8 {
    // SAFETY: none; this crashes the worker on purpose.
    unsafe { std::ptr::null_mut::<u8>().write_volatile(1) };
    0
}

fn segfault_is_reported() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    died_with(pool.submit(segfault, ()).unwrap().wait(), "SIGSEGV");
    assert_eq!(pool.submit(nap_then, 0).unwrap().wait(), Ok(0));
}

/// Creates `path`, then sleeps `ms`: the file says the task really started.
fn mark_then_nap((path, ms): (std::path::PathBuf, u64)) -> u64 {
    std::fs::write(&path, b"started").unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn sigkill_from_outside_is_reported() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let worker = pool.submit(pid, ()).unwrap().wait().unwrap();
    let marker = std::env::temp_dir().join(format!("tulip-crash-{}-sigkill", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let stuck = pool.submit(mark_then_nap, (marker.clone(), 60_000)).unwrap();
    harness::eventually(Duration::from_secs(5), "the task starts", || marker.exists());
    // SAFETY: kills the worker process this test just learned the pid of.
    unsafe { libc::kill(worker as libc::pid_t, libc::SIGKILL) };
    died_with(stuck.wait(), "killed by signal 9 (SIGKILL)");
    assert_eq!(pool.submit(nap_then, 2).unwrap().wait(), Ok(2));
    let _ = std::fs::remove_file(marker);
}

/// Forks a child that keeps the worker's pipes open (and writes its pid to `path`), then aborts.
fn fork_then_abort(path: std::path::PathBuf) -> u8 {
    // SAFETY: the child only sleeps and exits; it runs no code that could need another thread.
    let child = unsafe { libc::fork() };
    if child == 0 {
        // SAFETY: async-signal-safe calls only, in the forked child.
        unsafe {
            libc::sleep(60);
            libc::_exit(0)
        };
    }
    std::fs::write(&path, child.to_string()).unwrap();
    std::process::abort()
}

fn death_is_noticed_even_if_a_grandchild_holds_the_pipes() {
    grandchild_holds_the_pipes(&ProcessPool::builder().max_workers(1).build().unwrap());
}

/// The task goes straight from `submit` to the idle worker, which does not wake the driver: the
/// liveness check must still watch it (before, the driver slept on until the idle timeout).
fn death_after_a_direct_submit_is_noticed_even_if_a_grandchild_holds_the_pipes() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    assert_eq!(pool.submit(nap_then, 0).unwrap().wait(), Ok(0));
    // An idle pool: its driver goes to sleep with nothing due.
    std::thread::sleep(Duration::from_millis(50));
    grandchild_holds_the_pipes(&pool);
}

/// A worker aborts while a child it forked holds its pipes: the task fails within the bound.
fn grandchild_holds_the_pipes(pool: &ProcessPool) {
    let file = std::env::temp_dir().join(format!("tulip-crash-{}-grandchild", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let mut fut = pool.submit(fork_then_abort, file.clone()).unwrap();
    let outcome = fut.wait_timeout(Duration::from_secs(20));
    if let Ok(pid) = std::fs::read_to_string(&file) {
        // SAFETY: kills the grandchild this test made the worker fork.
        unsafe { libc::kill(pid.trim().parse().unwrap(), libc::SIGKILL) };
    }
    let _ = std::fs::remove_file(file);
    died_with(outcome.expect("the death was not noticed"), "SIGABRT");
    assert_eq!(pool.submit(nap_then, 3).unwrap().wait(), Ok(3));
}

fn killed_before_it_starts_a_task_is_sent_elsewhere() {
    // Killed while its task is sent but provably not started (the worker is frozen before it reads
    // it): the task has not run, so it runs on the replacement instead of failing.
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let worker = pool.submit(pid, ()).unwrap().wait().unwrap() as libc::pid_t;
    // SAFETY: signals the worker process this test just learned the pid of.
    unsafe { libc::kill(worker, libc::SIGSTOP) };
    let task = pool.submit(nap_then, 5).unwrap();
    harness::eventually(Duration::from_secs(5), "the task is sent", || pool.stats().running == 1);
    // SAFETY: as above.
    unsafe { libc::kill(worker, libc::SIGKILL) };
    assert_eq!(task.wait(), Ok(5));
    assert_eq!(pool.stats().worker_deaths, 1);
}

/// Writes `bytes` straight into the worker's result pipe (fd 4), as a buggy native library might.
fn scribble(bytes: Vec<u8>) -> u8 {
    // SAFETY: fd 4 is the worker's result pipe; it is not closed here (forget).
    let mut pipe = unsafe { std::fs::File::from_raw_fd(4) };
    pipe.write_all(&bytes).unwrap();
    std::mem::forget(pipe);
    std::thread::sleep(Duration::from_secs(30));
    0
}

fn bad_frame_case(bytes: Vec<u8>, what: &str) {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    // Make pipelining deep, so tasks queue up in the worker behind the bad one.
    for _ in 0..20 {
        pool.submit(nap_then, 0).unwrap().wait().unwrap();
    }
    let bad = pool.submit(scribble, bytes).unwrap();
    let behind: Vec<_> = (0..5u64).map(|i| pool.submit(nap_then, i).unwrap()).collect();
    died_with(bad.wait(), what);
    // The tasks that never started went to the replacement worker.
    for (i, f) in behind.into_iter().enumerate() {
        assert_eq!(f.wait(), Ok(i as u64));
    }
    assert_eq!(pool.stats().worker_deaths, 1);
}

fn malformed_frame_kills_only_that_worker() {
    // A well-formed length, then a body of an unknown kind.
    bad_frame_case(vec![3, 0, 0, 0, 0x55, 0x55, 0x55], "malformed frame: unknown frame kind 0x55");
}

fn oversize_frame_kills_only_that_worker() {
    bad_frame_case(vec![0xf0, 0xff, 0xff, 0xff], "over the limit");
}
