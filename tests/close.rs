//! `close()`: idempotent, refused while running, and every call after it gets a typed error; what was
//! posted before and never ran is dropped in a way the poster can observe.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use tulip::{EventLoop, JobError, LoopClosed, RunError};

#[test]
fn close_is_idempotent() {
    let lp = EventLoop::new().unwrap();
    assert!(!lp.is_closed());
    lp.close().unwrap();
    lp.close().unwrap();
    assert!(lp.is_closed());
    assert!(lp.handle().is_closed());
}

#[test]
fn thread_safe_calls_after_close_fail_with_loop_closed() {
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    lp.close().unwrap();
    std::thread::spawn(move || {
        assert_eq!(h.call_soon_threadsafe(|| ()), Err(LoopClosed));
        assert_eq!(h.spawn_threadsafe(async { 1 }).wait(), Err(JobError::LoopClosed));
        // Harmless after close.
        h.stop();
    })
    .join()
    .unwrap();
}

#[test]
fn running_a_closed_loop_fails_with_closed() {
    let lp = EventLoop::new().unwrap();
    lp.close().unwrap();
    assert_eq!(lp.run_until_complete(async { 1 }), Err(RunError::Closed));
    assert_eq!(lp.run_forever(), Err(RunError::Closed));
}

#[test]
fn scheduling_on_a_closed_loop_is_refused_without_running() {
    let lp = EventLoop::new().unwrap();
    lp.close().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let h = lp.call_soon(move || drop(tx));
    assert!(h.cancelled());
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
    assert!(lp.call_later(Duration::ZERO, || ()).cancelled());
    let task = lp.spawn(async { 1 });
    assert!(task.is_done());
    // SAFETY: a closed loop refuses before it keeps anything.
    assert!(unsafe { lp.add_reader(0, || ()) }.is_err());
}

#[test]
fn threadsafe_callbacks_posted_before_close_and_not_run_are_dropped() {
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    let (tx, rx) = mpsc::channel::<u32>();
    std::thread::spawn(move || {
        h.call_soon_threadsafe(move || tx.send(1).unwrap()).unwrap();
    })
    .join()
    .unwrap();
    // Posted, never run: close drops it, and the poster sees its Sender go away.
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Empty));
    lp.close().unwrap();
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
}

#[test]
fn spawn_threadsafe_posted_before_close_fails_with_loop_closed() {
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    let fut = std::thread::spawn(move || h.spawn_threadsafe(async { 7 })).join().unwrap();
    lp.close().unwrap();
    assert_eq!(fut.wait(), Err(JobError::LoopClosed));
}

#[test]
fn spawn_threadsafe_task_pending_at_close_fails_with_loop_closed() {
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let fut = h.spawn_threadsafe(std::future::pending::<u32>());
        let h2 = h.clone();
        h.call_soon_threadsafe(move || h2.stop()).unwrap();
        tx.send(()).unwrap();
        fut.wait()
    });
    rx.recv().unwrap();
    // The task starts in the pass that also runs the stop.
    lp.run_forever().unwrap();
    lp.close().unwrap();
    assert_eq!(t.join().unwrap(), Err(JobError::LoopClosed));
}

#[test]
fn local_callbacks_and_timers_pending_at_close_are_dropped() {
    let lp = EventLoop::new().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let (tx2, tx3) = (tx.clone(), tx.clone());
    // The handles are kept: close must still drop the closures, not leave them to the handles.
    let h = lp.call_soon(move || drop(tx));
    let t = lp.call_later(Duration::from_secs(60), move || drop(tx2));
    let task = lp.spawn(async move {
        let _tx = tx3;
        std::future::pending::<()>().await
    });
    lp.close().unwrap();
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
    assert!(h.cancelled());
    assert!(t.cancelled());
    assert!(task.is_done());
}

#[test]
fn tasks_pending_at_close_are_cancelled_and_their_futures_dropped() {
    let lp = EventLoop::new().unwrap();
    let dropped = Rc::new(Cell::new(0));
    struct Guard(Rc<Cell<u32>>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    // One task idle (it ran and waits), one never polled.
    let g1 = Guard(dropped.clone());
    let idle = lp.spawn(async move {
        let _g = g1;
        tulip::sleep(Duration::from_secs(60)).await
    });
    lp.run_until_complete(async {}).unwrap();
    let g2 = Guard(dropped.clone());
    let fresh = lp.spawn(async move {
        let _g = g2;
    });
    lp.close().unwrap();
    assert_eq!(dropped.get(), 2);
    let lp2 = EventLoop::new().unwrap();
    assert_eq!(lp2.run_until_complete(idle).unwrap(), Err(tulip::JobError::Cancelled));
    assert_eq!(lp2.run_until_complete(fresh).unwrap(), Err(tulip::JobError::Cancelled));
    lp2.close().unwrap();
}

#[test]
fn close_while_running_fails_with_already_running() {
    let lp = EventLoop::new().unwrap();
    let lp2 = lp.clone();
    let r = lp.run_until_complete(async move { lp2.close() }).unwrap();
    assert_eq!(r, Err(RunError::AlreadyRunning));
    assert!(!lp.is_closed());
    lp.close().unwrap();
}

#[test]
fn running_a_loop_inside_a_running_loop_fails() {
    let outer = EventLoop::new().unwrap();
    let inner = EventLoop::new().unwrap();
    let (o, i) = (outer.clone(), inner.clone());
    let (same, other) =
        outer.run_until_complete(async move { (o.run_until_complete(async {}), i.run_forever()) }).unwrap();
    assert_eq!(same, Err(RunError::AlreadyRunning));
    assert_eq!(other, Err(RunError::NestedLoop));
    // Both loops are still usable afterwards.
    assert_eq!(inner.run_until_complete(async { 2 }), Ok(2));
    assert_eq!(outer.run_until_complete(async { 3 }), Ok(3));
    outer.close().unwrap();
    inner.close().unwrap();
}

#[test]
fn dropping_an_unclosed_loop_drops_what_it_holds() {
    let (tx, rx) = mpsc::channel::<()>();
    let h = {
        let lp = EventLoop::new().unwrap();
        let tx2 = tx.clone();
        lp.call_soon(move || drop(tx));
        drop(lp.spawn(async move {
            let _tx = tx2;
            std::future::pending::<()>().await
        }));
        lp.handle()
    };
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
    assert!(h.is_closed());
    assert_eq!(h.call_soon_threadsafe(|| ()), Err(LoopClosed));
}
