//! Per-worker state (issue 13): `worker_state` makes a value once per worker thread, lazily, and
//! `submit_with_state` lends it to each job on that thread; no `thread_local!` dance.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tulip::{JobError, SubmitError, ThreadPool};

/// A state that is not `Send` (like a database connection), counting the jobs it served.
struct Conn {
    served: Rc<Cell<u32>>,
}

#[test]
fn state_is_made_once_per_thread_and_kept() {
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let pool = ThreadPool::builder()
        .max_workers(1)
        .worker_state(move || {
            m.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>(Conn { served: Rc::new(Cell::new(0)) })
        })
        .build()
        .unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 0, "made lazily, not at build");
    // A plain job does not make it either.
    pool.submit(|| ()).unwrap().wait().unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 0);
    for expected in 1..=5 {
        let n = pool.submit_with_state(|c: &mut Conn| {
            c.served.set(c.served.get() + 1);
            c.served.get()
        });
        assert_eq!(n.unwrap().wait(), Ok(expected));
    }
    assert_eq!(made.load(Ordering::SeqCst), 1);
}

#[test]
fn several_state_types_live_side_by_side() {
    let pool = ThreadPool::builder()
        .max_workers(1)
        .worker_state(|| Ok::<_, String>(String::from("db")))
        .worker_state(|| Ok::<_, String>(vec![1u8, 2, 3]))
        .build()
        .unwrap();
    let s = pool.submit_with_state(|s: &mut String| s.clone()).unwrap();
    let v = pool.submit_with_state(|v: &mut Vec<u8>| v.len()).unwrap();
    assert_eq!((s.wait(), v.wait()), (Ok("db".to_string()), Ok(3)));
}

#[test]
fn a_state_type_without_a_factory_is_refused_at_submit() {
    let pool = ThreadPool::builder().build().unwrap();
    let err = pool.submit_with_state(|_: &mut u64| ()).unwrap_err();
    assert_eq!(err, SubmitError::NoState("u64"));
    assert!(err.to_string().contains("u64"), "{err}");
}

#[test]
fn a_failing_factory_fails_that_job_and_the_next_one_retries() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = attempts.clone();
    let pool = ThreadPool::builder()
        .max_workers(1)
        .worker_state(move || match a.fetch_add(1, Ordering::SeqCst) {
            0 => Err("database unreachable"),
            _ => Ok(42u32),
        })
        .build()
        .unwrap();
    let first = pool.submit_with_state(|n: &mut u32| *n).unwrap().wait();
    assert_eq!(first, Err(JobError::Initializer("database unreachable".into())));
    assert!(!pool.is_shut_down(), "a state that could not be made does not break the pool");
    assert_eq!(pool.submit_with_state(|n: &mut u32| *n).unwrap().wait(), Ok(42));
    assert_eq!(pool.submit(|| 1).unwrap().wait(), Ok(1));
    let s = pool.stats();
    assert_eq!((s.failed, s.completed), (1, 2), "{s:?}");
}

#[test]
fn a_panicking_job_drops_its_state_and_the_next_job_gets_a_fresh_one() {
    let pool = ThreadPool::builder().max_workers(1).worker_state(|| Ok::<_, String>(0u32)).build().unwrap();
    pool.submit_with_state(|n: &mut u32| *n += 1).unwrap().wait().unwrap();
    let boom = pool.submit_with_state(|n: &mut u32| -> u32 { panic!("half-updated {n}") }).unwrap().wait();
    assert!(matches!(boom, Err(JobError::Panicked(_))), "{boom:?}");
    assert_eq!(pool.submit_with_state(|n: &mut u32| *n).unwrap().wait(), Ok(0));
}
