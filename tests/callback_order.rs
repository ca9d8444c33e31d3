//! Callbacks run in the order scheduled, one pass at a time; timers in deadline order, FIFO on ties.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tulip::EventLoop;

#[test]
fn call_soon_runs_in_fifo_order() {
    let lp = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    for i in 0..100 {
        let log = log.clone();
        lp.call_soon(move || log.borrow_mut().push(i));
    }
    lp.run_until_complete(async {}).unwrap();
    assert_eq!(*log.borrow(), (0..100).collect::<Vec<_>>());
    lp.close().unwrap();
}

#[test]
fn callbacks_scheduled_during_a_pass_wait_for_the_next_pass() {
    let lp = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (l1, lp1) = (log.clone(), lp.clone());
    lp.call_soon(move || {
        l1.borrow_mut().push("first");
        let l = l1.clone();
        // Scheduled during the pass: must run after "second", which was ready when the pass began.
        lp1.call_soon(move || l.borrow_mut().push("scheduled during pass"));
    });
    let l2 = log.clone();
    lp.call_soon(move || l2.borrow_mut().push("second"));
    let lp2 = lp.clone();
    lp.call_soon(move || lp2.stop());
    lp.run_forever().unwrap();
    // stop() ends the loop after the pass: the callback scheduled during it has not run yet.
    assert_eq!(*log.borrow(), vec!["first", "second"]);
    lp.stop();
    lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), vec!["first", "second", "scheduled during pass"]);
    lp.close().unwrap();
}

#[test]
fn timers_fire_in_deadline_order_and_fifo_among_equal_deadlines() {
    let lp = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let base = lp.time() + Duration::from_millis(20);
    // Scheduled out of order; ties at the same instant keep scheduling order.
    for (i, ms) in [(0, 15u64), (1, 5), (2, 10), (3, 5), (4, 0), (5, 10), (6, 5)] {
        let log = log.clone();
        lp.call_at(base + Duration::from_millis(ms), move || log.borrow_mut().push(i));
    }
    let lp2 = lp.clone();
    lp.call_at(base + Duration::from_millis(30), move || lp2.stop());
    lp.run_forever().unwrap();
    assert_eq!(*log.borrow(), vec![4, 1, 3, 6, 2, 5, 0]);
    lp.close().unwrap();
}

#[test]
fn timers_do_not_fire_early() {
    let lp = EventLoop::new().unwrap();
    let start = lp.time();
    let fired = Rc::new(RefCell::new(None));
    let (f, lp2) = (fired.clone(), lp.clone());
    lp.call_later(Duration::from_millis(30), move || {
        *f.borrow_mut() = Some(lp2.time());
        lp2.stop();
    });
    lp.run_forever().unwrap();
    let at = fired.borrow().expect("timer fired");
    assert!(at - start >= Duration::from_millis(30));
    lp.close().unwrap();
}

#[test]
fn tasks_take_their_turn_in_fifo_order_with_callbacks() {
    // asyncio's create_task schedules the first step with call_soon: it keeps its place among the
    // callbacks, whether the loop is running or not yet.
    let lp = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    lp.call_soon(move || l1.borrow_mut().push("a"));
    let task = lp.spawn(async move { l2.borrow_mut().push("task") });
    lp.call_soon(move || l3.borrow_mut().push("b"));
    lp.run_until_complete(task).unwrap().unwrap();
    assert_eq!(*log.borrow(), vec!["a", "task", "b"]);

    // The same from inside the running loop.
    log.borrow_mut().clear();
    let (lp2, l) = (lp.clone(), log.clone());
    lp.run_until_complete(async move {
        let (l1, l2, l3) = (l.clone(), l.clone(), l.clone());
        lp2.call_soon(move || l1.borrow_mut().push("a"));
        let task = lp2.spawn(async move { l2.borrow_mut().push("task") });
        lp2.call_soon(move || l3.borrow_mut().push("b"));
        task.await.unwrap();
    })
    .unwrap();
    assert_eq!(*log.borrow(), vec!["a", "task", "b"]);
    lp.close().unwrap();
}
