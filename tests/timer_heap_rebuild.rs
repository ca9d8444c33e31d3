//! The timer heap is rebuilt without its cancelled entries by asyncio's rule: when they are more than
//! half of a heap of more than a hundred entries (not only once more than a hundred are cancelled).

use std::time::Duration;

use tulip::EventLoop;

#[test]
fn a_heap_of_150_with_80_cancelled_is_rebuilt() {
    let lp = EventLoop::new().unwrap();
    let timers: Vec<_> = (0..150u64).map(|i| lp.call_later(Duration::from_secs(3600 + i), || ())).collect();
    // The latest ones: lazy purging (from the top of the heap) never reaches them.
    for t in &timers[70..] {
        t.cancel();
    }
    // The 76th cancel made them more than half: rebuilt; the 4 after wait, counted, as usual.
    assert_eq!(lp.timer_heap_len(), 74);
    lp.close().unwrap();
}

#[test]
fn a_heap_of_100_is_never_rebuilt_and_half_is_not_more_than_half() {
    let lp = EventLoop::new().unwrap();
    let timers: Vec<_> = (0..100u64).map(|i| lp.call_later(Duration::from_secs(3600 + i), || ())).collect();
    for t in &timers[10..] {
        t.cancel();
    }
    assert_eq!(lp.timer_heap_len(), 100, "a heap of a hundred entries is left to lazy purging");
    let lp = EventLoop::new().unwrap();
    let timers: Vec<_> = (0..200u64).map(|i| lp.call_later(Duration::from_secs(3600 + i), || ())).collect();
    for t in &timers[100..] {
        t.cancel();
    }
    assert_eq!(lp.timer_heap_len(), 200, "exactly half is not more than half");
    timers[99].cancel();
    assert_eq!(lp.timer_heap_len(), 99);
}
