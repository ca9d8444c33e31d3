#[path = "../support/process_harness.rs"]
mod harness;

use harness::Case;
use tulip::{JobError, ProcessPool, SubmitError};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case {
            name: "the_initializer_runs_before_the_first_task",
            run: the_initializer_runs_before_the_first_task,
        },
        Case { name: "a_failing_initializer_breaks_the_pool", run: a_failing_initializer_breaks_the_pool },
        Case {
            name: "a_panicking_initializer_breaks_the_pool",
            run: a_panicking_initializer_breaks_the_pool,
        },
    ]);
}

const VAR: &str = "TULIP_TEST_INITIALIZED";

fn set_var() -> Result<(), String> {
    // SAFETY: the worker is single-threaded while its initializer runs.
    unsafe { std::env::set_var(VAR, "yes") };
    Ok(())
}

fn fail() -> Result<(), String> {
    Err("cannot open the database".into())
}

fn panic_in_init() -> Result<(), String> {
    panic!("init exploded")
}

fn read_var(_: ()) -> Option<String> {
    std::env::var(VAR).ok()
}

fn one(_: ()) -> u8 {
    1
}

fn the_initializer_runs_before_the_first_task() {
    let pool = ProcessPool::builder().max_workers(2).initializer(set_var).build().unwrap();
    for _ in 0..4 {
        assert_eq!(pool.submit(read_var, ()).unwrap().wait(), Ok(Some("yes".into())));
    }
    // Not in this process: it runs in the workers.
    assert_eq!(read_var(()), None);
}

fn broken(init: fn() -> Result<(), String>, what: &str) {
    let pool = ProcessPool::builder().max_workers(1).initializer(init).build().unwrap();
    let first = pool.submit(one, ()).unwrap().wait();
    assert!(matches!(&first, Err(JobError::Initializer(m)) if m.contains(what)), "{first:?}");
    match pool.submit(one, ()) {
        Err(SubmitError::Broken(m)) => assert!(m.contains(what), "{m}"),
        other => panic!("expected SubmitError::Broken, got {:?}", other.map(|_| ())),
    }
    assert_eq!(pool.map(one, [()]).collect::<Vec<_>>().len(), 1);
    assert_eq!(pool.stats().failed, 1);
}

fn a_failing_initializer_breaks_the_pool() {
    broken(fail, "cannot open the database");
}

fn a_panicking_initializer_breaks_the_pool() {
    broken(panic_in_init, "init exploded");
}
