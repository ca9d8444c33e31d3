//! A panicking job fails its own future with the panic message; the worker lives on.

use tulip::{JobError, ThreadPool};

#[test]
fn panic_becomes_panicked_error_with_message() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let r = pool.submit(|| -> u32 { panic!("the answer is {}", 42) }).unwrap().wait();
    assert_eq!(r, Err(JobError::Panicked("the answer is 42".into())));
    let r = pool.submit(|| -> u32 { std::panic::panic_any(7u8) }).unwrap().wait();
    assert!(matches!(r, Err(JobError::Panicked(m)) if m.contains("non-string")));
}

#[test]
fn the_worker_survives_and_takes_the_next_job() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let before = pool.submit(|| std::thread::current().id()).unwrap().wait().unwrap();
    for _ in 0..5 {
        assert!(pool.submit(|| panic!("boom")).unwrap().wait().is_err());
    }
    let after = pool.submit(|| std::thread::current().id()).unwrap().wait().unwrap();
    assert_eq!(before, after, "the same thread must still be serving the pool");
    let s = pool.stats();
    assert_eq!((s.workers, s.failed, s.completed), (1, 5, 2));
}

#[test]
fn a_panic_does_not_disturb_other_jobs() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    let futs: Vec<_> = (0..100)
        .map(|i| pool.submit(move || if i % 7 == 0 { panic!("job {i}") } else { i }).unwrap())
        .collect();
    for (i, f) in futs.into_iter().enumerate() {
        match f.wait() {
            Ok(v) => assert_eq!(v, i),
            Err(JobError::Panicked(m)) => assert_eq!((m, i % 7), (format!("job {i}"), 0)),
            Err(e) => panic!("unexpected {e}"),
        }
    }
}
