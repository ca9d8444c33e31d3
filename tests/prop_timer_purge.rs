//! Property: the timer heap follows its purge rule, and every timer fires exactly once unless
//! cancelled first, whatever the interleaving of scheduling, cancelling and loop passes.
//!
//! The rule (asyncio's): cancelled entries stay in the heap until they reach its top, except that a
//! cancel that leaves more than half of a heap of more than a hundred entries cancelled rebuilds
//! it without them. A model applies the rule to a list of entries and predicts
//! `EventLoop::timer_heap_len` after every step.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use proptest::prelude::*;
use tulip::{EventLoop, TimerHandle};

#[derive(Debug, Clone)]
enum Op {
    /// A timer an hour away (never due during the test).
    Far,
    /// A timer due now, fired by the next pass.
    Due,
    /// Cancels the `n`th scheduled timer (modulo).
    Cancel(usize),
    /// One pass of the loop.
    Pass,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => Just(Op::Far),
        1 => Just(Op::Due),
        4 => (0..1000usize).prop_map(Op::Cancel),
        1 => Just(Op::Pass),
    ]
}

/// One timer as the model sees it.
struct Entry {
    due: bool,
    in_heap: bool,
    cancelled: bool,
    fired: Rc<Cell<u32>>,
    handle: TimerHandle,
}

/// The heap as the rule says it should be: which entries are in it, and the cancelled count.
#[derive(Default)]
struct Model {
    entries: Vec<Entry>,
    cancelled_in_heap: usize,
}

impl Model {
    fn heap_len(&self) -> usize {
        self.entries.iter().filter(|e| e.in_heap).count()
    }

    fn schedule(&mut self, lp: &EventLoop, due: bool) {
        let fired = Rc::new(Cell::new(0));
        let count = fired.clone();
        let when = if due { lp.time() } else { lp.time() + Duration::from_secs(3600) };
        let handle = lp.call_at(when, move || count.set(count.get() + 1));
        self.entries.push(Entry { due, in_heap: true, cancelled: false, fired, handle });
    }

    fn cancel(&mut self, n: usize) {
        if self.entries.is_empty() {
            return;
        }
        let k = n % self.entries.len();
        let entry = &mut self.entries[k];
        entry.handle.cancel();
        // Already cancelled, or fired (a due timer that left the heap uncancelled): no effect.
        if entry.cancelled || !entry.in_heap {
            return;
        }
        entry.cancelled = true;
        self.cancelled_in_heap += 1;
        let len = self.heap_len();
        if len > 100 && self.cancelled_in_heap * 2 > len {
            for e in &mut self.entries {
                e.in_heap &= !e.cancelled;
            }
            self.cancelled_in_heap = 0;
        }
    }

    /// A pass that has work ready (the stop request) does not wait, so it only takes the due
    /// entries off the heap: the cancelled ones are dropped, the rest fire.
    fn pass(&mut self, lp: &EventLoop) {
        lp.stop();
        lp.run_forever().expect("the loop runs");
        for e in self.entries.iter_mut().filter(|e| e.due && e.in_heap) {
            e.in_heap = false;
            if e.cancelled {
                self.cancelled_in_heap = self.cancelled_in_heap.saturating_sub(1);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 96 }))]

    #[test]
    fn the_heap_follows_the_purge_rule(ops in prop::collection::vec(op(), 0..400)) {
        let lp = EventLoop::new().expect("a loop");
        let mut model = Model::default();
        for (step, op) in ops.iter().enumerate() {
            match *op {
                Op::Far => model.schedule(&lp, false),
                Op::Due => model.schedule(&lp, true),
                Op::Cancel(n) => model.cancel(n),
                Op::Pass => model.pass(&lp),
            }
            prop_assert_eq!(lp.timer_heap_len(), model.heap_len(), "after step {} ({:?})", step, op);
        }
        model.pass(&lp);
        for e in &model.entries {
            let expected = u32::from(e.due && !e.cancelled);
            prop_assert_eq!(e.fired.get(), expected, "a timer fires once unless cancelled first");
        }
    }
}
