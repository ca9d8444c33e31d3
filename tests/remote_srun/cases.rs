#[path = "../support/process_harness.rs"]
mod harness;

use std::process::Command;
use std::time::Duration;

use harness::{eventually, Case};
use tulip::process::Launcher;
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/engines.sh");
    let out = Command::new("bash").arg(script).arg("slurm").output();
    let conf = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => {
            println!("remote_srun: SKIPPED, scripts/engines.sh could not start Slurm (install slurmd slurmctld slurm-client munge)");
            return;
        }
    };
    // Before any thread exists: `srun` finds the test cluster through it.
    std::env::set_var("SLURM_CONF", conf);
    harness::run(&[
        Case { name: "srun_workers_return_results", run: srun_workers_return_results },
        Case { name: "a_killed_step_is_worker_died", run: a_killed_step_is_worker_died },
        Case {
            name: "a_step_ended_at_handshake_timeout_leaves_nothing",
            run: a_step_ended_at_handshake_timeout_leaves_nothing,
        },
    ]);
}

fn pool() -> ProcessPool {
    ProcessPool::builder().launcher(Launcher::srun(["--partition=tulip"])).max_workers(2).build().unwrap()
}

fn double(x: u64) -> u64 {
    2 * x
}

/// Writes this worker's pid to `path`, then sleeps far longer than any test.
fn park(path: String) -> u32 {
    std::fs::write(&path, std::process::id().to_string()).unwrap();
    std::thread::sleep(Duration::from_secs(600));
    0
}

fn in_a_step(_: ()) -> bool {
    std::env::var_os("SLURM_STEP_ID").is_some()
}

fn srun_workers_return_results() {
    let pool = pool();
    let futs: Vec<_> = (0..100u64).map(|i| pool.submit(double, i).unwrap()).collect();
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait(), Ok(2 * i as u64));
    }
    assert_eq!(pool.submit(in_a_step, ()).unwrap().wait(), Ok(true), "the worker runs in a Slurm step");
}

fn a_killed_step_is_worker_died() {
    let pool = pool();
    let path = std::env::temp_dir().join(format!("tulip-srun-park-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let fut = pool.submit(park, path.display().to_string()).unwrap();
    let mut pid = 0;
    eventually(Duration::from_secs(60), "the parked task starts", || {
        pid = std::fs::read_to_string(&path).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        pid != 0
    });
    let _ = std::fs::remove_file(&path);
    let nanny = parent_of(pid);
    // SAFETY: kills the step's process (the nanny), which this test started through srun.
    unsafe { libc::kill(nanny as libc::pid_t, libc::SIGKILL) };
    match fut.wait() {
        Err(JobError::WorkerDied(m)) => assert!(m.contains("srun"), "{m}"),
        other => panic!("expected WorkerDied, got {other:?}"),
    }
    eventually(Duration::from_secs(10), "the worker is gone", || !running(pid));
    assert_eq!(pool.submit(double, 4).unwrap().wait(), Ok(8), "the pool heals");
}

/// A step that never answers the handshake is ended (`SIGTERM` to `srun` first, so that it cancels
/// the step), and nothing of it stays running on the node.
fn a_step_ended_at_handshake_timeout_leaves_nothing() {
    let marker = format!("9{}", std::process::id());
    let script = std::env::temp_dir().join(format!("tulip-silent-step-{marker}"));
    std::fs::write(&script, format!("#!/bin/sh\nexec sleep {marker}\n")).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let silent = Launcher::srun(["--partition=tulip"]).remote_path(&script);
    let built = ProcessPool::builder().launcher(silent).max_workers(1).build();
    assert!(matches!(built, Err(tulip::BuildError::Handshake(_))), "{:?}", built.map(|_| ()));
    let leftover = || {
        let Ok(dir) = std::fs::read_dir("/proc") else { return false };
        dir.flatten().any(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            cmd == format!("sleep\0{marker}\0").into_bytes()
        })
    };
    eventually(Duration::from_secs(15), "the step's process is gone", || !leftover());
    let _ = std::fs::remove_file(&script);
}

fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat.rsplit(')').next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Whether `pid` runs (a zombie does not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}
