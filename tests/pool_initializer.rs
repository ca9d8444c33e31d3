//! The initializer runs once per thread; a failing one breaks the pool with a clear error.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use tulip::{JobError, SubmitError, ThreadPool};

thread_local! {
    static CONN: Cell<Option<u32>> = const { Cell::new(None) };
}

#[test]
fn initializer_runs_once_per_thread_before_its_jobs() {
    let inits = Arc::new(AtomicUsize::new(0));
    let i = inits.clone();
    let pool = ThreadPool::builder()
        .max_workers(3)
        .initializer(move || {
            CONN.with(|c| c.set(Some(7)));
            i.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>(())
        })
        .build()
        .unwrap();
    let barrier = Arc::new(Barrier::new(3));
    let futs: Vec<_> = (0..3)
        .map(|_| {
            let b = barrier.clone();
            pool.submit(move || {
                b.wait();
                CONN.with(|c| c.get())
            })
            .unwrap()
        })
        .collect();
    assert!(futs.into_iter().all(|f| f.wait() == Ok(Some(7))));
    for _ in 0..100 {
        pool.submit(|| ()).unwrap().wait().unwrap();
    }
    assert_eq!(inits.load(Ordering::SeqCst), 3);
}

#[test]
fn failing_initializer_breaks_the_pool() {
    let pool =
        ThreadPool::builder().initializer(|| Err(std::io::Error::other("db unreachable"))).build().unwrap();
    // The first submit starts the worker whose initializer fails; the pool may break while the
    // others are being submitted. Either way each job reports the initializer's error.
    let first = pool.submit(|| 0).unwrap();
    let rest: Vec<_> = (1..5).map(|i| pool.submit(move || i)).collect();
    assert_eq!(first.wait(), Err(JobError::Initializer("db unreachable".into())));
    for r in rest {
        match r {
            Ok(fut) => assert_eq!(fut.wait(), Err(JobError::Initializer("db unreachable".into()))),
            Err(e) => assert!(matches!(e, SubmitError::Broken(ref m) if m == "db unreachable"), "{e}"),
        }
    }
    match pool.submit(|| 1) {
        Err(SubmitError::Broken(msg)) => assert_eq!(msg, "db unreachable"),
        other => panic!("expected SubmitError::Broken, got {other:?}"),
    }
    assert!(pool.is_shut_down());
    pool.shutdown_timeout(std::time::Duration::MAX);
    assert_eq!(pool.stats().workers, 0);
    assert_eq!(
        JobError::Initializer("x".into()).to_string(),
        "the pool's initializer failed, so the job never ran: x"
    );
}

#[test]
fn panicking_initializer_breaks_the_pool_too() {
    let pool = ThreadPool::builder()
        .initializer(|| -> Result<(), String> { panic!("init exploded") })
        .build()
        .unwrap();
    let r = pool.submit(|| 1).unwrap().wait();
    assert!(matches!(r, Err(JobError::Initializer(m)) if m.contains("init exploded")));
    assert!(matches!(pool.submit(|| 1), Err(SubmitError::Broken(_))));
}
