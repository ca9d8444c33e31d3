#[path = "../support/process_harness.rs"]
mod harness;

use std::process::Command;

use harness::Case;
use tulip::{BuildError, ProcessPool};

const ROLE: &str = "TULIP_TEST_ROLE";

fn main() {
    match std::env::var(ROLE).as_deref() {
        // These roles run in child copies of this test, each a program that gets `init` wrong.
        Ok("no-init") => return try_to_build(),
        Ok("skip-init") => {
            // Calls init in the program, but not in its workers.
            if std::env::var_os("TULIP_TEST_IN_WORKER").is_none() {
                tulip::process::init();
            }
            std::env::set_var("TULIP_TEST_IN_WORKER", "1");
            return try_to_build();
        }
        _ => {}
    }
    tulip::process::init();
    harness::run(&[
        Case {
            name: "a_program_without_init_cannot_start_a_pool",
            run: a_program_without_init_cannot_start_a_pool,
        },
        Case {
            name: "a_worker_that_skips_init_fails_the_handshake",
            run: a_worker_that_skips_init_fails_the_handshake,
        },
        Case { name: "init_returns_in_the_program", run: init_returns_in_the_program },
    ]);
}

fn try_to_build() {
    match ProcessPool::builder().max_workers(1).build() {
        Err(BuildError::Handshake(msg)) => println!("HANDSHAKE ERROR: {msg}"),
        Err(e) => println!("OTHER ERROR: {e}"),
        Ok(_) => println!("BUILT"),
    }
}

fn run_role(role: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap()).env(ROLE, role).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn a_program_without_init_cannot_start_a_pool() {
    let out = run_role("no-init");
    assert!(out.starts_with("HANDSHAKE ERROR: tulip::process::init() was not called"), "{out}");
    assert_eq!(out.lines().count(), 1, "something ran twice: {out}");
}

fn a_worker_that_skips_init_fails_the_handshake() {
    let out = run_role("skip-init");
    // The worker reached the pool's builder instead of init: refused, so pools never nest...
    assert!(
        out.contains("HANDSHAKE ERROR: this process was started as a tulip process-pool worker"),
        "{out}"
    );
    // ...and the program's pool reports the failed handshake and why.
    assert!(
        out.contains("HANDSHAKE ERROR: the worker exited with status 0 before completing the handshake"),
        "{out}"
    );
    assert!(out.contains("`tulip::process::init();` is the first statement of main"), "{out}");
    assert!(!out.contains("BUILT"), "{out}");
}

fn init_returns_in_the_program() {
    // Called again, in a program that is not a worker: returns at once.
    tulip::process::init();
    assert!(!tulip::process::is_worker());
}
