//! A sleeping loop is woken from another thread: by `call_soon_threadsafe`, by `LoopHandle::stop`, and
//! by a task woken there. The bounds are liveness bounds (seconds), not timing assertions.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use tulip::EventLoop;

/// Far beyond any wakeup the test waits for: if the loop slept until its timer, the test would fail.
const FAR: Duration = Duration::from_secs(60);
const LIVENESS: Duration = Duration::from_secs(2);

/// Runs `f` on a thread once the loop is (about to be) asleep: the loop tells the thread it has
/// entered `run_forever` with nothing to do but a far timer.
fn with_sleeping_loop(f: impl FnOnce(tulip::LoopHandle) + Send + 'static) -> Duration {
    let lp = EventLoop::new().unwrap();
    let far = lp.call_later(FAR, || panic!("the far timer must not fire"));
    let (tx, rx) = mpsc::channel::<()>();
    // Runs in the first pass; the next pass has nothing ready and blocks until the far timer.
    lp.call_soon(move || tx.send(()).unwrap());
    let h = lp.handle();
    let t = std::thread::spawn(move || {
        rx.recv().unwrap();
        // Give the loop a moment to block for real; correctness does not depend on it.
        std::thread::sleep(Duration::from_millis(20));
        let start = Instant::now();
        f(h);
        start
    });
    lp.run_forever().unwrap();
    let woke = Instant::now();
    let start = t.join().unwrap();
    far.cancel();
    lp.close().unwrap();
    woke - start
}

#[test]
fn call_soon_threadsafe_wakes_a_loop_sleeping_on_a_far_timer() {
    let took = with_sleeping_loop(|h| {
        let h2 = h.clone();
        h.call_soon_threadsafe(move || h2.stop()).unwrap();
    });
    assert!(took < LIVENESS, "woken after {took:?}");
}

#[test]
fn stop_from_a_thread_wakes_a_sleeping_run_forever() {
    let took = with_sleeping_loop(|h| h.stop());
    assert!(took < LIVENESS, "woken after {took:?}");
}

#[test]
fn stop_from_a_thread_wakes_a_loop_with_nothing_scheduled_at_all() {
    let lp = EventLoop::new().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    lp.call_soon(move || tx.send(()).unwrap());
    let h = lp.handle();
    let t = std::thread::spawn(move || {
        rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        h.stop();
    });
    // No timer, no fd: the loop blocks without a timeout until the stop wakes it.
    lp.run_forever().unwrap();
    t.join().unwrap();
    lp.close().unwrap();
}

#[test]
fn stop_from_a_thread_ends_run_until_complete_with_stopped() {
    let lp = EventLoop::new().unwrap();
    let h = lp.handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        h.stop();
    });
    let r = lp.run_until_complete(tulip::sleep(FAR));
    assert_eq!(r, Err(tulip::RunError::Stopped));
    t.join().unwrap();
    lp.close().unwrap();
}

#[test]
fn many_posts_while_asleep_all_run() {
    // A burst from several threads at once against a sleeping loop: every post is seen.
    let lp = EventLoop::new().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    lp.call_soon(move || tx.send(()).unwrap());
    let h = lp.handle();
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = counter.clone();
    let t = std::thread::spawn(move || {
        rx.recv().unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (h, c) = (h.clone(), c.clone());
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        let c = c.clone();
                        h.call_soon_threadsafe(move || {
                            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let h2 = h.clone();
        h.call_soon_threadsafe(move || h2.stop()).unwrap();
    });
    let far = lp.call_later(FAR, || ());
    lp.run_forever().unwrap();
    t.join().unwrap();
    assert_eq!(counter.load(std::sync::atomic::Ordering::Relaxed), 4000);
    far.cancel();
    lp.close().unwrap();
}

#[test]
fn ping_pong_across_spins_parked_and_polling_sleeps_never_loses_a_wakeup() {
    ping_pong_across_sleep_modes(EventLoop::new().unwrap().idle_spin());
}

#[test]
fn ping_pong_across_parked_and_polling_sleeps_never_loses_a_wakeup_without_the_idle_spin() {
    ping_pong_across_sleep_modes(Duration::ZERO);
}

/// The loop spins for a moment (unless `spin` is zero), then blocks parked on its thread when it has
/// no fd and no timer, and in the poller when it has a timer. The callbacks below flip between the
/// two on every round trip, from two threads at once: a lost wakeup shows up as a reply that never
/// comes.
fn ping_pong_across_sleep_modes(spin: Duration) {
    use std::cell::RefCell;
    const ROUNDS: usize = 5_000;
    thread_local! {
        static ARMED: RefCell<Option<tulip::TimerHandle>> = const { RefCell::new(None) };
    }
    let lp = EventLoop::new().unwrap();
    lp.set_idle_spin(spin);
    let pingers: Vec<_> = (0..2)
        .map(|_| {
            let h = lp.handle();
            std::thread::spawn(move || {
                let (tx, rx) = mpsc::sync_channel::<()>(1);
                for _ in 0..ROUNDS {
                    let tx = tx.clone();
                    h.call_soon_threadsafe(move || {
                        ARMED.with(|f| {
                            let mut f = f.borrow_mut();
                            match f.take() {
                                // Cancelled: the next sleep has no timer and parks.
                                Some(t) => t.cancel(),
                                // Armed: the next sleep waits in the poller.
                                None => {
                                    *f = Some(tulip::get_running_loop().call_later(FAR, || ()));
                                }
                            }
                        });
                        tx.send(()).unwrap();
                    })
                    .unwrap();
                    rx.recv_timeout(LIVENESS * 5).expect("a wakeup was lost");
                }
            })
        })
        .collect();
    let h = lp.handle();
    let stopper = std::thread::spawn(move || {
        for p in pingers {
            p.join().unwrap();
        }
        h.stop();
    });
    lp.run_forever().unwrap();
    stopper.join().unwrap();
    ARMED.with(|f| f.borrow_mut().take().map(|t| t.cancel()));
    lp.close().unwrap();
}
