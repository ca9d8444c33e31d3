//! A `ConcurrentFuture` is awaitable on any runtime and waitable from blocking code.

use std::time::Duration;

use tulip::{ConcurrentFuture, JobError, ThreadPool};

fn pool() -> ThreadPool {
    ThreadPool::builder().max_workers(2).build().unwrap()
}

#[test]
fn awaited_under_tokio_current_thread() {
    let pool = pool();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let out = rt.block_on(async {
        let mut sum = 0;
        for i in 0..100 {
            sum += pool.submit(move || i).unwrap().await.unwrap();
        }
        sum
    });
    assert_eq!(out, (0..100).sum::<i32>());
}

#[test]
fn awaited_under_tokio_multi_thread_from_spawned_tasks() {
    let pool = pool();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let out = rt.block_on(async {
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let fut = pool.submit(move || i * 2).unwrap();
                tokio::spawn(fut)
            })
            .collect();
        let mut v = Vec::new();
        for t in tasks {
            v.push(t.await.unwrap().unwrap());
        }
        v
    });
    assert_eq!(out, (0..50).map(|i| i * 2).collect::<Vec<_>>());
}

#[test]
fn awaited_under_block_on() {
    let pool = pool();
    let r = futures_lite::future::block_on(async {
        let a = pool.submit(|| 1).unwrap();
        let b = pool.submit(|| panic!("b failed")).unwrap();
        (a.await, b.await)
    });
    assert_eq!(r, (Ok(1), Err(JobError::Panicked("b failed".into()))));
}

#[test]
fn awaited_under_smol() {
    let pool = pool();
    assert_eq!(smol::block_on(pool.submit(|| "smol").unwrap()), Ok("smol"));
}

#[test]
fn polled_twice_after_ready_reports_result_taken() {
    let pool = pool();
    let mut fut = pool.submit(|| 1).unwrap();
    assert_eq!(futures_lite::future::block_on(&mut fut), Ok(1));
    assert_eq!(futures_lite::future::block_on(&mut fut), Err(JobError::ResultTaken));
}

#[test]
fn wait_timeout_then_wait() {
    let pool = pool();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let mut fut = pool.submit(move || rx.recv().map(|_| 5)).unwrap();
    assert_eq!(fut.wait_timeout(Duration::from_millis(1)), None);
    tx.send(()).unwrap();
    assert_eq!(fut.wait_timeout(Duration::MAX), Some(Ok(Ok(5))));
    assert_eq!(fut.wait(), Err(JobError::ResultTaken));
}

#[test]
fn done_callbacks_run_once_whether_added_before_or_after_completion() {
    let pool = pool();
    let (tx, rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let fut = pool.submit(move || go_rx.recv().map(|_| 7).unwrap()).unwrap();
    let t1 = tx.clone();
    fut.add_done_callback(move |r| t1.send(("before", r.clone())).unwrap());
    go_tx.send(()).unwrap();
    while !fut.is_done() {
        std::thread::yield_now();
    }
    fut.add_done_callback(move |r| tx.send(("after", r.clone())).unwrap());
    let mut got: Vec<_> = rx.iter().take(2).collect();
    got.sort_by_key(|(k, _)| *k);
    assert_eq!(got, [("after", Ok(7)), ("before", Ok(7))]);
    assert_eq!(fut.wait(), Ok(7), "callbacks borrow the value, the waiter still gets it");
}

#[test]
fn ready_future_needs_no_pool() {
    let f: ConcurrentFuture<u8> = ConcurrentFuture::ready(Err(JobError::Cancelled));
    assert_eq!(futures_lite::future::block_on(f), Err(JobError::Cancelled));
}
