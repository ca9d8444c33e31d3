#[path = "../support/process_harness.rs"]
mod harness;

use harness::Case;
use tulip::{JobError, ProcessPool, SubmitError};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case {
            name: "the_state_is_made_once_per_worker_and_kept",
            run: the_state_is_made_once_per_worker_and_kept,
        },
        Case { name: "a_type_without_a_factory_is_refused", run: a_type_without_a_factory_is_refused },
        Case { name: "a_failing_factory_fails_only_its_task", run: a_failing_factory_fails_only_its_task },
    ]);
}

/// A state that counts the tasks that used it, and remembers its process.
struct Counter {
    pid: u32,
    uses: u32,
}

fn new_counter() -> Result<Counter, String> {
    Ok(Counter { pid: std::process::id(), uses: 0 })
}

fn count(c: &mut Counter, _: ()) -> (u32, u32) {
    c.uses += 1;
    (c.pid, c.uses)
}

/// Fails the first time in each worker, then works.
struct Flaky;

fn new_flaky() -> Result<Flaky, String> {
    static TRIED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if TRIED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        Ok(Flaky)
    } else {
        Err("not yet".into())
    }
}

fn use_flaky(_: &mut Flaky, x: u8) -> u8 {
    x
}

fn the_state_is_made_once_per_worker_and_kept() {
    let pool = ProcessPool::builder().max_workers(1).worker_state(new_counter).build().unwrap();
    let uses: Vec<(u32, u32)> =
        (0..5).map(|_| pool.submit_with_state(count, ()).unwrap().wait().unwrap()).collect();
    assert!(uses.iter().all(|(pid, _)| *pid == uses[0].0 && *pid != std::process::id()));
    assert_eq!(uses.iter().map(|u| u.1).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
}

fn a_type_without_a_factory_is_refused() {
    let pool = ProcessPool::builder().max_workers(1).worker_state(new_counter).build().unwrap();
    let r = pool.submit_with_state(use_flaky, 1).map(|_| ());
    assert!(matches!(r, Err(SubmitError::NoState(ty)) if ty.ends_with("Flaky")), "{r:?}");
}

fn a_failing_factory_fails_only_its_task() {
    let pool = ProcessPool::builder().max_workers(1).worker_state(new_flaky).build().unwrap();
    let first = pool.submit_with_state(use_flaky, 1).unwrap().wait();
    assert_eq!(first, Err(JobError::Initializer("not yet".into())));
    assert_eq!(pool.submit_with_state(use_flaky, 2).unwrap().wait(), Ok(2));
    assert_eq!(pool.submit(|x: u8| x, 3).unwrap().wait(), Ok(3));
}
