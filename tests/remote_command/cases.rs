#[path = "../support/process_harness.rs"]
mod harness;

use harness::Case;
use tulip::process::Launcher;
use tulip::{BuildError, JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "a_command_launcher_runs_tasks", run: a_command_launcher_runs_tasks },
        Case {
            name: "a_noisy_launcher_is_a_clear_handshake_error",
            run: a_noisy_launcher_is_a_clear_handshake_error,
        },
        Case { name: "a_missing_remote_program_fails_build", run: a_missing_remote_program_fails_build },
    ]);
}

fn cube(x: i64) -> i64 {
    x * x * x
}

fn boom(_: ()) -> u32 {
    std::process::abort()
}

fn a_command_launcher_runs_tasks() {
    let pool = ProcessPool::builder()
        .launcher(Launcher::command(["sh", "-c", "exec \"$@\"", "sh"]))
        .max_workers(2)
        .build()
        .unwrap();
    let futs: Vec<_> = (0..100).map(|i| pool.submit(cube, i).unwrap()).collect();
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait(), Ok((i as i64).pow(3)));
    }
    match pool.submit(boom, ()).unwrap().wait() {
        Err(JobError::WorkerDied(m)) => assert!(m.contains("sh -c"), "names the launcher: {m}"),
        other => panic!("expected WorkerDied, got {other:?}"),
    }
    assert_eq!(pool.submit(cube, 2).unwrap().wait(), Ok(8), "the pool heals");
}

fn a_noisy_launcher_is_a_clear_handshake_error() {
    let noisy = Launcher::command(["sh", "-c", "echo 'Welcome to node1!'; exec \"$@\"", "sh"]);
    match ProcessPool::builder().launcher(noisy).max_workers(1).build() {
        Err(BuildError::Handshake(m)) => assert!(m.contains(".bashrc"), "{m}"),
        other => panic!("expected a handshake error, got {:?}", other.map(|_| ())),
    }
}

fn a_missing_remote_program_fails_build() {
    let missing =
        Launcher::command(["sh", "-c", "exec \"$@\"", "sh"]).remote_path("/nonexistent/tulip-program");
    assert!(ProcessPool::builder().launcher(missing).max_workers(1).build().is_err());
}
