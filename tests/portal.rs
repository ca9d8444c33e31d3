//! BlockingPortal: sync code calls async code on a loop thread and gets results, errors and panics
//! back; concurrent callers; the re-entry guard; stopping with calls in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tulip::{BlockingPortal, JobError};

#[test]
fn call_returns_the_futures_output() {
    let portal = BlockingPortal::start().unwrap();
    let v = portal.call(|| async {
        tulip::sleep(Duration::from_millis(2)).await;
        String::from("from the loop")
    });
    assert_eq!(v.as_deref(), Ok("from the loop"));
}

#[test]
fn call_passes_errors_through_as_values() {
    let portal = BlockingPortal::start().unwrap();
    let v: Result<Result<u32, String>, JobError> = portal.call(|| async { Err("bad input".to_string()) });
    assert_eq!(v, Ok(Err("bad input".to_string())));
}

#[test]
fn a_panic_in_the_called_future_becomes_panicked_and_the_portal_lives_on() {
    let portal = BlockingPortal::start().unwrap();
    let v = portal.call(|| async {
        if true {
            panic!("inside the portal");
        }
        1
    });
    match v {
        Err(JobError::Panicked(msg)) => assert!(msg.contains("inside the portal"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(portal.call(|| async { 2 }), Ok(2));
}

#[test]
fn the_future_may_hold_non_send_values() {
    let portal = BlockingPortal::start().unwrap();
    let v = portal.call(|| async {
        let rc = std::rc::Rc::new(21);
        tulip::sleep(Duration::from_millis(1)).await;
        *rc * 2
    });
    assert_eq!(v, Ok(42));
}

#[test]
fn many_threads_call_at_once() {
    let portal = BlockingPortal::start().unwrap();
    let sum = std::thread::scope(|s| {
        let calls: Vec<_> = (0..8u64)
            .map(|t| {
                let p = &portal;
                s.spawn(move || {
                    (0..200u64).map(|i| p.call(move || async move { t * 1000 + i }).unwrap()).sum::<u64>()
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).sum::<u64>()
    });
    let expected: u64 = (0..8u64).flat_map(|t| (0..200u64).map(move |i| t * 1000 + i)).sum();
    assert_eq!(sum, expected);
}

#[test]
fn calling_from_the_portals_own_loop_thread_is_would_deadlock() {
    let portal = Arc::new(BlockingPortal::start().unwrap());
    let p = portal.clone();
    let (tx, rx) = mpsc::channel();
    portal
        .handle()
        .call_soon_threadsafe(move || {
            tx.send(p.call(|| async { 1 })).unwrap();
        })
        .unwrap();
    let got = rx.recv_timeout(Duration::from_secs(10)).expect("the guard answers at once, no hang");
    assert_eq!(got, Err(JobError::WouldDeadlock));
}

#[test]
fn stop_fails_calls_in_flight_with_loop_closed_and_later_calls_too() {
    let portal = Arc::new(BlockingPortal::start().unwrap());
    let started = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..3)
        .map(|_| {
            let (p, started) = (portal.clone(), started.clone());
            std::thread::spawn(move || {
                p.call(move || async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<()>().await
                })
            })
        })
        .collect();
    while started.load(Ordering::SeqCst) < 3 {
        std::thread::yield_now();
    }
    portal.stop();
    for c in callers {
        assert_eq!(c.join().unwrap(), Err(JobError::LoopClosed));
    }
    assert_eq!(portal.call(|| async { 1 }), Err(JobError::LoopClosed));
    assert!(portal.handle().is_closed());
}

#[test]
fn spawn_returns_a_concurrent_future_that_can_be_cancelled() {
    let portal = BlockingPortal::start().unwrap();
    let f = portal.spawn_with(std::future::pending::<u8>);
    assert!(f.cancel());
    assert_eq!(f.wait(), Err(JobError::Cancelled));
    assert_eq!(portal.spawn_with(|| async { 3 }).wait(), Ok(3));
}
