//! `map` yields results in the items' order with a bounded number of jobs in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tulip::{JobError, ThreadPool};

#[test]
fn results_come_in_item_order_even_when_jobs_finish_out_of_order() {
    let pool = ThreadPool::builder().max_workers(4).build().unwrap();
    let out: Vec<u64> = pool
        .map(
            |x: u64| {
                // Earlier items take longer.
                std::thread::sleep(Duration::from_micros(20 * (50 - x)));
                x * x
            },
            0..50,
        )
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, (0..50).map(|x| x * x).collect::<Vec<_>>());
}

#[test]
fn at_most_limit_items_are_in_flight() {
    let pool = ThreadPool::builder().max_workers(4).build().unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let items = (0..200).inspect(move |_| {
        p.fetch_add(1, Ordering::SeqCst);
    });
    let mut yielded = 0;
    for r in pool.map(|x: i32| x, items).in_flight(3) {
        assert_eq!(r, Ok(yielded as i32));
        yielded += 1;
        let in_flight = pulled.load(Ordering::SeqCst) - yielded;
        assert!(in_flight < 3, "{in_flight} items in flight after a yield, limit 3");
    }
    assert_eq!(yielded, 200);
}

#[test]
fn default_limit_is_twice_max_workers_and_map_is_lazy() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let mut it = pool.map(
        |x: u32| x,
        (0..100).inspect(move |_| {
            p.fetch_add(1, Ordering::SeqCst);
        }),
    );
    assert_eq!(pulled.load(Ordering::SeqCst), 0, "nothing is submitted before the first next()");
    assert_eq!(it.next(), Some(Ok(0)));
    assert_eq!(pulled.load(Ordering::SeqCst), 4);
}

#[test]
fn a_panicking_item_yields_its_error_in_place() {
    let pool = ThreadPool::builder().build().unwrap();
    let out: Vec<_> = pool.map(|x: i32| if x == 2 { panic!("two") } else { x }, 0..4).collect();
    assert_eq!(out, [Ok(0), Ok(1), Err(JobError::Panicked("two".into())), Ok(3)]);
}

#[test]
fn items_after_shutdown_yield_shutdown() {
    let pool = ThreadPool::builder().build().unwrap();
    let mut it = pool.map(|x: i32| x, 0..5).in_flight(1);
    assert_eq!(it.next(), Some(Ok(0)));
    pool.shutdown_timeout(std::time::Duration::MAX);
    assert_eq!(it.collect::<Vec<_>>(), vec![Err(JobError::ShutDown); 4]);
}

#[test]
fn dropping_the_iterator_cancels_jobs_not_started() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = std::sync::Mutex::new(rx);
    // Items 0 and 1 wait for a signal each, so items 2.. are still queued when the iterator is dropped.
    let mut it = pool
        .map(
            move |x: usize| {
                if x <= 1 {
                    rx.lock().unwrap().recv().unwrap();
                }
                r.fetch_add(1, Ordering::SeqCst);
            },
            0..10,
        )
        .in_flight(5);
    tx.send(()).unwrap();
    assert_eq!(it.next(), Some(Ok(())));
    drop(it);
    tx.send(()).unwrap();
    pool.shutdown_timeout(std::time::Duration::MAX);
    // Item 0 ran, item 1 ran if it had started before the drop; items 2..4 were queued and never ran.
    assert!(ran.load(Ordering::SeqCst) <= 2, "ran {}", ran.load(Ordering::SeqCst));
    assert!(pool.stats().cancelled >= 3);
}

#[test]
fn the_map_owns_a_pool_handle_and_zero_in_flight_means_one() {
    let pool = ThreadPool::builder().max_workers(2).build().unwrap();
    let it = pool.map(|x: u32| x * 10, 0..3).in_flight(0);
    // The iterator borrows nothing: the pool handle can go first.
    drop(pool);
    assert_eq!(it.collect::<Vec<_>>(), [Ok(0), Ok(10), Ok(20)]);
}
