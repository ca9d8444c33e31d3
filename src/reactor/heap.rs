//! The timer heap: scheduled callbacks ordered by deadline, with asyncio's lazy purge rule.
//!
//! Entries are ordered by (deadline, sequence number), so equal deadlines fire in the order they
//! were scheduled. Cancelling a timer only marks its callback; marked entries are dropped when they
//! reach the top, and the heap is rebuilt without them once they are more than half of a heap of
//! more than a hundred entries, as asyncio does.
//!
//! The heap touches no file descriptor and no clock of its own (callers pass `now`), so its tests
//! run under Miri (`scripts/miri.sh`), which cannot run the loop around it.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::timer::Callback;

/// A heap of more than this many entries is rebuilt once more than half of it is cancelled.
const PURGE_MIN_LEN: usize = 100;

/// The loop's timers. Methods take `&self`: a callback's drop (during a purge) may cancel another
/// timer, which must not find the heap borrowed in a way that panics.
pub(crate) struct TimerHeap {
    entries: RefCell<BinaryHeap<TimerEntry>>,
    /// Entries of `entries` whose callback is cancelled but which are still in the heap.
    cancelled: Cell<usize>,
    /// The sequence number of the next entry; breaks ties between equal deadlines.
    next_seq: Cell<u64>,
}

impl TimerHeap {
    pub(crate) fn new() -> Self {
        TimerHeap {
            entries: RefCell::new(BinaryHeap::new()),
            cancelled: Cell::new(0),
            next_seq: Cell::new(0),
        }
    }

    /// The number of entries, cancelled ones included.
    pub(crate) fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// Schedules `cb` for `when`, after every entry already due at the same instant.
    pub(crate) fn push(&self, when: Instant, cb: Rc<dyn Callback>) {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        self.entries.borrow_mut().push(TimerEntry { when, seq, cb });
    }

    /// Time from `now` until the next live timer, dropping cancelled ones from the top; `None` if
    /// there is none.
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        let mut entries = self.entries.borrow_mut();
        while let Some(top) = entries.peek() {
            if !top.cb.cancelled() {
                return Some(top.when.saturating_duration_since(now));
            }
            entries.pop();
            self.forget_one_cancelled();
        }
        None
    }

    /// Removes the timers due at `now` and hands each live one to `ready`, in deadline order.
    pub(crate) fn pop_due(&self, now: Instant, mut ready: impl FnMut(Rc<dyn Callback>)) {
        let mut entries = self.entries.borrow_mut();
        while entries.peek().is_some_and(|top| top.when <= now) {
            let Some(entry) = entries.pop() else { break };
            if entry.cb.cancelled() {
                self.forget_one_cancelled();
                continue;
            }
            entry.cb.leave_heap();
            ready(entry.cb);
        }
    }

    /// Counts one more cancelled entry; rebuilds the heap without them when most of it is cancelled.
    pub(crate) fn note_cancelled(&self) {
        let n = self.cancelled.get() + 1;
        self.cancelled.set(n);
        // Borrowed only while a heap operation drops a closure that cancels a timer: counted now.
        let Ok(mut entries) = self.entries.try_borrow_mut() else { return };
        if entries.len() > PURGE_MIN_LEN && n * 2 > entries.len() {
            entries.retain(|e| !e.cb.cancelled());
            self.cancelled.set(0);
        }
    }

    /// Empties the heap, cancelling every callback still in it (the loop is closing).
    pub(crate) fn cancel_all(&self) {
        let entries = std::mem::take(&mut *self.entries.borrow_mut());
        for e in &entries {
            e.cb.cancel();
        }
        // After the loop: a closure dropped there may have cancelled (and counted) another entry.
        self.cancelled.set(0);
    }

    fn forget_one_cancelled(&self) {
        self.cancelled.set(self.cancelled.get().saturating_sub(1));
    }
}

/// An entry of the timer heap: earliest deadline first, then lowest sequence number (FIFO).
struct TimerEntry {
    when: Instant,
    seq: u64,
    cb: Rc<dyn Callback>,
}

impl PartialEq for TimerEntry {
    fn eq(&self, other: &Self) -> bool {
        self.when == other.when && self.seq == other.seq
    }
}
impl Eq for TimerEntry {}
impl PartialOrd for TimerEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TimerEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: reverse so the earliest (when, seq) is on top.
        other.when.cmp(&self.when).then_with(|| other.seq.cmp(&self.seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reactor::timer::CallbackCell;
    use std::panic::Location;

    /// A timer whose closure records its label into `fired`.
    fn timer(fired: &Rc<RefCell<Vec<u32>>>, label: u32) -> Rc<dyn Callback> {
        let fired = fired.clone();
        Rc::new(CallbackCell::new_timer(move || fired.borrow_mut().push(label), Location::caller()))
    }

    /// Cancels `cb` as `TimerHandle::cancel` does.
    fn cancel(heap: &TimerHeap, cb: &Rc<dyn Callback>) {
        if cb.cancel().1 {
            heap.note_cancelled();
        }
    }

    fn run_due(heap: &TimerHeap, now: Instant) {
        let mut due = Vec::new();
        heap.pop_due(now, |cb| due.push(cb));
        due.iter().for_each(|cb| cb.run());
    }

    #[test]
    fn equal_deadlines_fire_in_scheduling_order_and_earlier_first() {
        let (heap, fired, t0) = (TimerHeap::new(), Rc::new(RefCell::new(Vec::new())), Instant::now());
        heap.push(t0 + Duration::from_millis(2), timer(&fired, 9));
        for label in 0..5 {
            heap.push(t0 + Duration::from_millis(1), timer(&fired, label));
        }
        assert_eq!(heap.next_timeout(t0), Some(Duration::from_millis(1)));
        run_due(&heap, t0 + Duration::from_millis(1));
        assert_eq!(*fired.borrow(), [0, 1, 2, 3, 4]);
        run_due(&heap, t0 + Duration::from_millis(5));
        assert_eq!(*fired.borrow(), [0, 1, 2, 3, 4, 9]);
        assert_eq!(heap.next_timeout(t0), None);
    }

    #[test]
    fn cancelled_entries_stay_until_they_reach_the_top() {
        let (heap, fired, t0) = (TimerHeap::new(), Rc::new(RefCell::new(Vec::new())), Instant::now());
        let cbs: Vec<_> = (0..10).map(|i| timer(&fired, i)).collect();
        for (i, cb) in cbs.iter().enumerate() {
            heap.push(t0 + Duration::from_secs(i as u64 + 1), cb.clone());
        }
        cancel(&heap, &cbs[0]);
        cancel(&heap, &cbs[5]);
        assert_eq!(heap.len(), 10, "a small heap is purged lazily");
        assert_eq!(heap.next_timeout(t0), Some(Duration::from_secs(2)), "the cancelled top is dropped");
        assert_eq!(heap.len(), 9);
        run_due(&heap, t0 + Duration::from_secs(60));
        assert_eq!(*fired.borrow(), [1, 2, 3, 4, 6, 7, 8, 9]);
        assert_eq!(heap.len(), 0);
    }

    #[test]
    fn a_mostly_cancelled_large_heap_is_rebuilt() {
        let (heap, fired, t0) = (TimerHeap::new(), Rc::new(RefCell::new(Vec::new())), Instant::now());
        let cbs: Vec<_> = (0..120).map(|i| timer(&fired, i)).collect();
        for cb in &cbs {
            heap.push(t0 + Duration::from_secs(3600), cb.clone());
        }
        for cb in &cbs[..60] {
            cancel(&heap, cb);
        }
        assert_eq!(heap.len(), 120, "exactly half cancelled: not yet");
        cancel(&heap, &cbs[60]);
        assert_eq!(heap.len(), 59, "more than half of more than a hundred: rebuilt");
        heap.cancel_all();
        assert_eq!(heap.len(), 0);
        assert!(cbs.iter().all(|cb| cb.cancelled()));
        run_due(&heap, t0 + Duration::from_secs(7200));
        assert!(fired.borrow().is_empty());
    }

    #[test]
    fn a_closure_that_cancels_another_timer_when_dropped_at_close_does_not_panic() {
        let (heap, fired, t0) =
            (Rc::new(TimerHeap::new()), Rc::new(RefCell::new(Vec::new())), Instant::now());
        /// Cancels its timer when dropped, as a value captured by a closure may.
        struct CancelOnDrop(Rc<TimerHeap>, Rc<dyn Callback>);
        impl Drop for CancelOnDrop {
            fn drop(&mut self) {
                cancel(&self.0, &self.1);
            }
        }
        let victim = timer(&fired, 0);
        let guard = CancelOnDrop(heap.clone(), victim.clone());
        heap.push(t0, Rc::new(CallbackCell::new_timer(move || drop(guard), Location::caller())));
        heap.push(t0 + Duration::from_secs(1), victim.clone());
        heap.cancel_all();
        assert!(victim.cancelled());
        assert_eq!(heap.len(), 0);
        run_due(&heap, t0 + Duration::from_secs(10));
        assert!(fired.borrow().is_empty());
    }
}
