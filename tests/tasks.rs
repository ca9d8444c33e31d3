//! Tasks: they run whether or not anyone awaits them; `cancel()` drops the future; tasks spawned from
//! other threads report to a `ConcurrentFuture`; a task woken from another thread goes through the
//! inbox and completes.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tulip::{EventLoop, JobError};

#[test]
fn a_task_runs_even_if_its_handle_is_dropped() {
    let lp = EventLoop::new().unwrap();
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    drop(lp.spawn(async move {
        tulip::sleep(Duration::from_millis(1)).await;
        d.set(true);
    }));
    // Nobody awaits the task: the main future only watches for its effect (a liveness bound, not a
    // timing assertion).
    let watch = done.clone();
    let seen = lp.run_until_complete(tulip::timeout(Duration::from_secs(10), async move {
        while !watch.get() {
            tulip::sleep(Duration::from_millis(1)).await;
        }
    }));
    assert_eq!(seen, Ok(Ok(())));
    assert!(done.get());
    lp.close().unwrap();
}

#[test]
fn awaiting_a_task_gives_its_output() {
    let lp = EventLoop::new().unwrap();
    let lp2 = lp.clone();
    let v = lp
        .run_until_complete(async move {
            let a = lp2.spawn(async { 20 });
            let b = lp2.spawn(async {
                tulip::sleep(Duration::from_millis(1)).await;
                22
            });
            a.await.unwrap() + b.await.unwrap()
        })
        .unwrap();
    assert_eq!(v, 42);
    lp.close().unwrap();
}

struct DropFlag(Rc<Cell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn cancel_drops_the_future_and_awaiting_gives_cancelled() {
    let lp = EventLoop::new().unwrap();
    let dropped = Rc::new(Cell::new(false));
    let g = DropFlag(dropped.clone());
    let task = lp.spawn(async move {
        let _g = g;
        tulip::sleep(Duration::from_secs(60)).await;
        1
    });
    // Let it start and block on its sleep.
    lp.run_until_complete(async {}).unwrap();
    assert!(!dropped.get());
    assert!(task.cancel());
    assert_eq!(lp.run_until_complete(task).unwrap(), Err(JobError::Cancelled));
    assert!(dropped.get());
    // The cancelled sleep left no live timer behind.
    lp.close().unwrap();
}

#[test]
fn cancel_before_the_first_poll_never_polls() {
    let lp = EventLoop::new().unwrap();
    let polled = Rc::new(Cell::new(false));
    let p = polled.clone();
    let task = lp.spawn(async move { p.set(true) });
    assert!(task.cancel());
    assert_eq!(lp.run_until_complete(task).unwrap(), Err(JobError::Cancelled));
    assert!(!polled.get());
    lp.close().unwrap();
}

#[test]
fn cancel_after_completion_returns_false() {
    let lp = EventLoop::new().unwrap();
    let task = lp.spawn(async { 1 });
    lp.run_until_complete(async {}).unwrap();
    assert!(task.is_done());
    assert!(!task.cancel());
    assert_eq!(lp.run_until_complete(task).unwrap(), Ok(1));
    lp.close().unwrap();
}

#[test]
fn spawn_threadsafe_result_reaches_another_thread() {
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    let t = std::thread::spawn(move || {
        let a = h.spawn_threadsafe(async { 40 });
        // The future is built on the loop thread: it may hold !Send state.
        let b = h.spawn_threadsafe_with(|| async {
            let rc = Rc::new(2);
            tulip::sleep(Duration::from_millis(1)).await;
            *rc
        });
        let r = (a.wait(), b.wait());
        h.stop();
        r
    });
    lp.run_forever().unwrap();
    assert_eq!(t.join().unwrap(), (Ok(40), Ok(2)));
    lp.close().unwrap();
}

/// Records, from any thread, that the future holding it was dropped.
struct SendDropFlag(Arc<AtomicBool>);
impl Drop for SendDropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn spawn_threadsafe_cancel_reports_cancelled_only_after_the_future_was_dropped() {
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    let dropped = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let d = dropped.clone();
    let t = std::thread::spawn(move || {
        let guard = SendDropFlag(d.clone());
        let fut = h.spawn_threadsafe(async move {
            let _g = guard;
            started_tx.send(()).unwrap();
            std::future::pending::<u32>().await
        });
        started_rx.recv().unwrap();
        assert!(!d.load(Ordering::SeqCst));
        assert!(fut.cancel(), "a task on a loop can be stopped");
        let r = fut.wait();
        // By the time the future reports Cancelled, the task's future is gone.
        let dropped_then = d.load(Ordering::SeqCst);
        h.stop();
        (r, dropped_then)
    });
    lp.run_forever().unwrap();
    let (r, dropped_then) = t.join().unwrap();
    assert_eq!(r, Err(JobError::Cancelled));
    assert!(dropped_then);
    assert!(dropped.load(Ordering::SeqCst));
    lp.close().unwrap();
}

#[test]
fn spawn_threadsafe_cancelled_before_it_starts_never_polls() {
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    let polled = Arc::new(AtomicBool::new(false));
    let p = polled.clone();
    let fut = h.spawn_threadsafe(async move { p.store(true, Ordering::SeqCst) });
    assert!(fut.cancel());
    // The loop still has to run for the cancellation to be carried out: awaiting the future on it
    // is how this thread waits.
    assert_eq!(lp.run_until_complete(fut).unwrap(), Err(JobError::Cancelled));
    assert!(!polled.load(Ordering::SeqCst));
    lp.close().unwrap();
}

#[test]
fn waiting_on_a_spawn_threadsafe_future_on_the_loops_thread_fails_fast() {
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    // Outside run: the loop lives on this thread, so nothing could ever run the task.
    let fut = h.spawn_threadsafe(async { 1 });
    assert_eq!(fut.wait(), Err(JobError::WouldDeadlock));
    // Inside a callback of the running loop.
    let h2 = h.clone();
    let r = lp.run_until_complete(async move { h2.spawn_threadsafe(async { 1 }).wait() }).unwrap();
    assert_eq!(r, Err(JobError::WouldDeadlock));
    // Awaiting it on the loop is the right way, and works.
    let h3 = h.clone();
    assert_eq!(lp.run_until_complete(async move { h3.spawn_threadsafe(async { 9 }).await }).unwrap(), Ok(9));
    lp.close().unwrap();
}

#[test]
fn a_task_woken_from_another_thread_completes() {
    // A second loop runs on its own thread; a task of this loop awaits work spawned there. The
    // completion happens on the other thread, so the wakeup goes through this loop's inbox.
    let (htx, hrx) = mpsc::channel();
    let other = std::thread::spawn(move || {
        let lp = EventLoop::new().unwrap();
        htx.send(lp.handle()).unwrap();
        lp.run_forever().unwrap();
        lp.close().unwrap();
    });
    let remote: tulip::LoopHandle = hrx.recv().unwrap();
    let lp = EventLoop::new().unwrap();
    let lp2 = lp.clone();
    let r = remote.clone();
    let sum = lp
        .run_until_complete(async move {
            let mut tasks = Vec::new();
            for i in 0..50u32 {
                let r = r.clone();
                tasks.push(lp2.spawn(async move {
                    // `tulip::sleep` is !Send: build the future on the remote loop's thread.
                    r.spawn_threadsafe_with(move || async move {
                        tulip::sleep(Duration::from_micros(100)).await;
                        i
                    })
                    .await
                    .unwrap()
                }));
            }
            let mut sum = 0;
            for t in tasks {
                sum += t.await.unwrap();
            }
            sum
        })
        .unwrap();
    assert_eq!(sum, (0..50).sum::<u32>());
    remote.stop();
    other.join().unwrap();
    lp.close().unwrap();
}

#[test]
fn a_task_woken_by_a_std_thread_through_call_soon_threadsafe_completes() {
    use std::cell::RefCell;
    use std::task::{Poll, Waker};
    // A hand-made one-shot: a std thread computes, then posts the value back with
    // call_soon_threadsafe; the loop-side closure stores it and wakes the waiting task.
    /// The value, once posted back, and the waiting task's waker.
    type Slot = Rc<RefCell<(Option<u64>, Option<Waker>)>>;
    let lp = EventLoop::new().unwrap();
    let slot: Slot = Rc::new(RefCell::new((None, None)));
    let h = lp.handle();
    thread_local! {
        static SLOT: RefCell<Option<Slot>> = const { RefCell::new(None) };
    }
    SLOT.with(|s| *s.borrow_mut() = Some(slot.clone()));
    let worker = std::thread::spawn(move || {
        let v: u64 = (1..=10).product();
        h.call_soon_threadsafe(move || {
            SLOT.with(|s| {
                let s = s.borrow();
                let mut slot = s.as_ref().unwrap().borrow_mut();
                slot.0 = Some(v);
                if let Some(w) = slot.1.take() {
                    w.wake();
                }
            })
        })
        .unwrap();
    });
    let s = slot.clone();
    let task = lp.spawn(std::future::poll_fn(move |cx| {
        let mut slot = s.borrow_mut();
        match slot.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                slot.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }));
    assert_eq!(lp.run_until_complete(task).unwrap(), Ok(3_628_800));
    worker.join().unwrap();
    SLOT.with(|s| s.borrow_mut().take());
    lp.close().unwrap();
}

#[test]
fn spawn_threadsafe_cancel_that_returned_true_is_honoured_even_if_the_task_then_finishes() {
    // The task is inside its poll when cancel() is called from another thread, and returns a value
    // in that same poll. cancel() said `true` ("will not produce a value"): the future must agree.
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        let fut = h.spawn_threadsafe(async move {
            started_tx.send(()).unwrap();
            // Blocks the loop thread until the other thread has cancelled: a deterministic race.
            go_rx.recv().unwrap();
            7u32
        });
        started_rx.recv().unwrap();
        let cancelled = fut.cancel();
        go_tx.send(()).unwrap();
        let r = fut.wait();
        h.stop();
        (cancelled, r)
    });
    lp.run_forever().unwrap();
    let (cancelled, r) = t.join().unwrap();
    assert!(cancelled);
    assert_eq!(r, Err(JobError::Cancelled));
    lp.close().unwrap();
}
