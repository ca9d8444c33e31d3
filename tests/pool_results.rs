//! Jobs return their values, whoever submits them and however they are collected.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tulip::ThreadPool;

#[test]
fn submit_returns_the_value() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    assert_eq!(pool.submit(|| 6 * 7).unwrap().wait(), Ok(42));
    assert_eq!(pool.submit(|| String::from("owned")).unwrap().wait().unwrap(), "owned");
    let v = pool.submit(|| vec![1u8; 1 << 20]).unwrap().wait().unwrap();
    assert_eq!(v.len(), 1 << 20);
}

#[test]
fn every_job_of_a_burst_runs_exactly_once() {
    let pool = ThreadPool::builder().max_workers(4).build().unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let futs: Vec<_> = (0..10_000u64)
        .map(|i| {
            let runs = runs.clone();
            pool.submit(move || {
                runs.fetch_add(1, Ordering::Relaxed);
                i * 2
            })
            .unwrap()
        })
        .collect();
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait(), Ok(i as u64 * 2));
    }
    assert_eq!(runs.load(Ordering::Relaxed), 10_000);
    assert_eq!(pool.stats().completed, 10_000);
}

#[test]
fn many_threads_submit_at_once() {
    let pool = ThreadPool::builder().max_workers(3).build().unwrap();
    let submitters: Vec<_> = (0..4u64)
        .map(|t| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let futs: Vec<_> =
                    (0..2_000u64).map(|i| pool.submit(move || t * 1_000_000 + i).unwrap()).collect();
                futs.into_iter().enumerate().all(|(i, f)| f.wait() == Ok(t * 1_000_000 + i as u64))
            })
        })
        .collect();
    for s in submitters {
        assert!(s.join().unwrap());
    }
    assert!(pool.stats().workers <= 3);
}

#[test]
fn jobs_can_submit_to_their_own_pool() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    let inner = pool.clone();
    let fut = pool.submit(move || inner.submit(|| 5).unwrap().wait().unwrap() + 1).unwrap();
    assert_eq!(fut.wait(), Ok(6));
}

#[test]
fn sequential_jobs_after_idle_periods_still_run() {
    // Exercises the park/unpark path: each job arrives after the spinning window is over.
    let pool = ThreadPool::builder().max_workers(2).idle_spin(Duration::from_micros(1)).build().unwrap();
    for i in 0..20 {
        std::thread::sleep(Duration::from_millis(1));
        assert_eq!(pool.submit(move || i).unwrap().wait(), Ok(i));
    }
}

#[test]
fn no_spin_pool_works() {
    let pool = ThreadPool::builder().idle_spin(Duration::ZERO).build().unwrap();
    let futs: Vec<_> = (0..1000).map(|i| pool.submit(move || i).unwrap()).collect();
    assert_eq!(futs.into_iter().map(|f| f.wait().unwrap()).sum::<i32>(), (0..1000).sum());
}
