//! `tulip::Semaphore` bounds how many pool jobs are in flight, whatever the number of tasks asking.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tulip::{Semaphore, TaskGroup, ThreadPool};

#[test]
fn bounds_the_pool_jobs_in_flight() {
    let pool = ThreadPool::builder().max_workers(8).build().unwrap();
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let p = peak.clone();
    tulip::run(async move {
        let peak = p;
        let sem = Arc::new(Semaphore::new(2));
        let mut group = TaskGroup::new();
        for _ in 0..20 {
            let (sem, pool, now, peak) = (sem.clone(), pool.clone(), now.clone(), peak.clone());
            group.spawn(async move {
                let _permit = sem.acquire().await;
                let job = move || {
                    peak.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(2));
                    now.fetch_sub(1, Ordering::SeqCst);
                };
                pool.submit(job).unwrap().await
            });
        }
        assert_eq!(group.join().await.unwrap().len(), 20);
    });
    assert_eq!(peak.load(Ordering::SeqCst), 2);
}

#[test]
fn a_thread_and_a_task_share_one_semaphore() {
    let sem = Arc::new(Semaphore::new(1));
    let held = sem.acquire_arc_blocking();
    let s = sem.clone();
    let t = std::thread::spawn(move || drop(s.acquire_arc_blocking()));
    tulip::run(async move {
        assert!(sem.try_acquire().is_none());
        drop(held);
        let _p = sem.acquire().await;
    });
    t.join().unwrap();
}
