//! Cancelling a `Handle` or `TimerHandle`: the closure is dropped at once and never runs; cancelled
//! timers are purged lazily, and the heap is rebuilt once most of it is cancelled.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use tulip::EventLoop;

/// Sets its flag when dropped: tells when a closure that captured it was dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn cancelled_call_soon_is_dropped_at_once_and_never_runs() {
    let lp = EventLoop::new().unwrap();
    let (dropped, ran) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
    let (guard, r) = (DropFlag(dropped.clone()), ran.clone());
    let h = lp.call_soon(move || {
        let _g = &guard;
        r.set(true);
    });
    assert!(!h.cancelled());
    h.cancel();
    assert!(h.cancelled());
    assert!(dropped.get(), "the closure is dropped by cancel(), not when the loop gets to it");
    lp.run_until_complete(async {}).unwrap();
    assert!(!ran.get());
    // Cancelling again is harmless.
    h.cancel();
    assert!(h.cancelled());
    lp.close().unwrap();
}

#[test]
fn cancelled_timer_is_dropped_at_once_and_never_runs() {
    let lp = EventLoop::new().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let t = lp.call_later(Duration::ZERO, move || {
        let _tx = &tx;
        r.set(true);
    });
    t.cancel();
    assert!(t.cancelled());
    // The only Sender lived in the closure: the channel is disconnected now.
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
    lp.run_until_complete(tulip::sleep(Duration::from_millis(2))).unwrap();
    assert!(!ran.get());
    lp.close().unwrap();
}

#[test]
fn cancel_after_running_is_a_no_op() {
    let lp = EventLoop::new().unwrap();
    let count = Rc::new(Cell::new(0));
    let (c1, c2) = (count.clone(), count.clone());
    let h = lp.call_soon(move || c1.set(c1.get() + 1));
    let t = lp.call_later(Duration::ZERO, move || c2.set(c2.get() + 1));
    lp.run_until_complete(tulip::sleep(Duration::from_millis(1))).unwrap();
    assert_eq!(count.get(), 2);
    h.cancel();
    t.cancel();
    // A callback that ran is not reported as cancelled.
    assert!(!h.cancelled());
    assert!(!t.cancelled());
    lp.close().unwrap();
}

#[test]
fn a_callback_can_cancel_a_later_one_in_the_same_pass() {
    let lp = EventLoop::new().unwrap();
    let ran = Rc::new(Cell::new(false));
    let slot: Rc<Cell<Option<tulip::Handle>>> = Rc::new(Cell::new(None));
    let s = slot.clone();
    lp.call_soon(move || {
        if let Some(h) = s.take() {
            h.cancel();
        }
    });
    let r = ran.clone();
    slot.set(Some(lp.call_soon(move || r.set(true))));
    lp.run_until_complete(async {}).unwrap();
    assert!(!ran.get());
    lp.close().unwrap();
}

#[test]
fn a_due_timer_cancelled_by_an_earlier_callback_of_the_pass_does_not_run() {
    let lp = EventLoop::new().unwrap();
    let ran = Rc::new(Cell::new(false));
    let at = lp.time();
    let slot: Rc<Cell<Option<tulip::TimerHandle>>> = Rc::new(Cell::new(None));
    let s = slot.clone();
    // Both are due in the same pass; the first cancels the second after it left the heap.
    lp.call_at(at, move || {
        if let Some(t) = s.take() {
            t.cancel();
        }
    });
    let r = ran.clone();
    slot.set(Some(lp.call_at(at, move || r.set(true))));
    lp.run_until_complete(tulip::sleep(Duration::from_millis(1))).unwrap();
    assert!(!ran.get());
    lp.close().unwrap();
}

#[test]
fn cancelled_timers_are_purged_lazily() {
    let lp = EventLoop::new().unwrap();
    let far = lp.call_later(Duration::from_secs(3600), || ());
    let due = lp.call_later(Duration::ZERO, || ());
    assert_eq!(lp.timer_heap_len(), 2);
    far.cancel();
    due.cancel();
    // Marked, not removed: a cancel costs no heap operation.
    assert_eq!(lp.timer_heap_len(), 2);
    // One pass pops the cancelled entry that became due; the far one stays until it reaches the top.
    lp.run_until_complete(async {}).unwrap();
    assert_eq!(lp.timer_heap_len(), 1);
    // Once it is on top, looking for the next deadline drops it. The stop comes through the inbox,
    // which the pass reads only after it computed its timeout.
    let h = lp.handle();
    let h2 = h.clone();
    h.call_soon_threadsafe(move || h2.stop()).unwrap();
    lp.run_forever().unwrap();
    assert_eq!(lp.timer_heap_len(), 0);
    lp.close().unwrap();
}

#[test]
fn heap_is_rebuilt_when_most_of_it_is_cancelled() {
    let lp = EventLoop::new().unwrap();
    let dropped = Rc::new(Cell::new(0usize));
    let handles: Vec<_> = (0..1000u64)
        .map(|i| {
            let d = DropCounter(dropped.clone());
            lp.call_later(Duration::from_secs(3600 + i), move || {
                let _d = &d;
            })
        })
        .collect();
    // A hundred cancelled timers are never enough to rebuild.
    for t in &handles[..100] {
        t.cancel();
    }
    assert_eq!(lp.timer_heap_len(), 1000);
    assert_eq!(dropped.get(), 100, "closures are dropped at cancel even while their entries stay");
    // Past half of the heap, it is rebuilt without the cancelled entries.
    for t in &handles[100..501] {
        t.cancel();
    }
    assert_eq!(lp.timer_heap_len(), 499);
    // Counting starts over after a rebuild: further cancels are lazy again.
    for t in &handles[501..600] {
        t.cancel();
    }
    assert_eq!(lp.timer_heap_len(), 499);
    // The live timers still fire in order after the rebuild.
    let order = Rc::new(std::cell::RefCell::new(Vec::new()));
    let base = lp.time();
    for i in 0..5u64 {
        let o = order.clone();
        lp.call_at(base + Duration::from_micros(10 * (5 - i)), move || o.borrow_mut().push(5 - i));
    }
    lp.run_until_complete(tulip::sleep(Duration::from_millis(1))).unwrap();
    assert_eq!(*order.borrow(), vec![1, 2, 3, 4, 5]);
    drop(handles);
    lp.close().unwrap();
    assert_eq!(dropped.get(), 1000);
}

struct DropCounter(Rc<Cell<usize>>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}
