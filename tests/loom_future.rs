//! A `loom` model of the `ConcurrentFuture` state machine: completion, cancellation, blocking waits,
//! polling and dropping, racing in every interleaving loom can find.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --test loom_future --release`.
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

use tulip::__loom::{pair, Options, Promise};
use tulip::{ConcurrentFuture, JobError};

/// What a pool worker does with a promise: run the job only if it is still wanted.
fn worker(promise: Promise<u32>, ran: Arc<AtomicUsize>) {
    if promise.start() {
        ran.fetch_add(1, Ordering::SeqCst);
        promise.complete(Ok(7));
    }
}

fn queued() -> (Promise<u32>, ConcurrentFuture<u32>) {
    pair(Options::default())
}

#[test]
fn cancel_races_start_and_complete() {
    loom::model(|| {
        let (promise, fut) = queued();
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let w = thread::spawn(move || worker(promise, r));
        let cancelled = fut.cancel();
        w.join().unwrap();
        let outcome = fut.wait();
        if cancelled {
            // `true` means the job never ran and never will.
            assert_eq!(outcome, Err(JobError::Cancelled));
            assert_eq!(ran.load(Ordering::SeqCst), 0);
        } else {
            assert_eq!(outcome, Ok(7));
            assert_eq!(ran.load(Ordering::SeqCst), 1);
        }
    });
}

#[test]
fn blocking_wait_sees_completion() {
    loom::model(|| {
        let (promise, fut) = queued();
        let ran = Arc::new(AtomicUsize::new(0));
        let w = thread::spawn(move || worker(promise, ran));
        assert_eq!(fut.wait(), Ok(7));
        w.join().unwrap();
    });
}

#[test]
fn two_waiters_one_takes_the_value() {
    loom::model(|| {
        let (promise, fut) = queued();
        let fut = Arc::new(std::sync::Mutex::new(Some(fut)));
        let ran = Arc::new(AtomicUsize::new(0));
        let w = thread::spawn(move || worker(promise, ran));
        // `wait` consumes the future; a callback is the second observer.
        let seen = Arc::new(AtomicUsize::new(0));
        let s = seen.clone();
        let f = fut.lock().unwrap().take().unwrap();
        f.add_done_callback(move |r| {
            assert_eq!(r, &Ok(7));
            s.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(f.wait(), Ok(7));
        w.join().unwrap();
        assert_eq!(seen.load(Ordering::SeqCst), 1, "the callback runs exactly once");
    });
}

#[test]
fn poll_with_waker_races_completion() {
    loom::model(|| {
        let (promise, fut) = queued();
        let ran = Arc::new(AtomicUsize::new(0));
        let w = thread::spawn(move || worker(promise, ran));
        // loom's block_on parks until the waker is woken: a lost wakeup is a deadlock loom reports.
        assert_eq!(loom::future::block_on(fut), Ok(7));
        w.join().unwrap();
    });
}

#[test]
fn dropping_the_future_races_the_worker() {
    loom::model(|| {
        let (promise, fut) = queued();
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let w = thread::spawn(move || worker(promise, r));
        drop(fut);
        w.join().unwrap();
        // Dropped while queued: never ran; dropped while running: ran to its end. Either is fine,
        // and nothing deadlocks or double-completes.
        assert!(ran.load(Ordering::SeqCst) <= 1);
    });
}

#[test]
fn dropped_promise_fails_the_waiter() {
    loom::model(|| {
        let (promise, fut) = pair::<u32>(Options { drop_error: JobError::ShutDown, ..Options::default() });
        let w = thread::spawn(move || {
            // A worker that dies (or a pool that goes away) without completing.
            let _ = promise.start();
            drop(promise);
        });
        assert_eq!(fut.wait(), Err(JobError::ShutDown));
        w.join().unwrap();
    });
}

#[test]
fn accepted_running_cancel_always_reports_cancelled() {
    loom::model(|| {
        let (promise, fut) =
            pair::<u32>(Options { canceller: Some(Box::new(|| true)), running: true, ..Options::default() });
        let token = promise.token();
        let w = thread::spawn(move || {
            // The job returns a value whether or not it saw the token.
            let _saw = token.is_cancelled();
            promise.complete(Ok(1));
        });
        let accepted = fut.cancel();
        w.join().unwrap();
        let outcome = fut.wait();
        if accepted {
            assert_eq!(outcome, Err(JobError::Cancelled));
        } else {
            assert_eq!(outcome, Ok(1));
        }
    });
}

#[test]
fn callback_added_while_completing_runs_exactly_once() {
    loom::model(|| {
        let (promise, fut) = queued();
        let count = Arc::new(AtomicUsize::new(0));
        let c1 = count.clone();
        fut.add_done_callback(move |_| {
            c1.fetch_add(1, Ordering::SeqCst);
        });
        let ran = Arc::new(AtomicUsize::new(0));
        let w = thread::spawn(move || worker(promise, ran));
        let c2 = count.clone();
        fut.add_done_callback(move |r| {
            assert_eq!(r, &Ok(7));
            c2.fetch_add(1, Ordering::SeqCst);
        });
        w.join().unwrap();
        assert_eq!(fut.wait(), Ok(7));
        assert_eq!(count.load(Ordering::SeqCst), 2);
    });
}
