use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn arrivals_during_the_handler_and_between_passes_are_seen() {
    let lp = tulip::EventLoop::new().unwrap();
    let calls = Rc::new(Cell::new(0u32));
    let seen = Arc::new(AtomicU32::new(0));
    let (c, s, lp2) = (calls.clone(), seen.clone(), lp.clone());
    lp.add_signal_handler(libc::SIGUSR2, move || {
        c.set(c.get() + 1);
        if c.get() == 1 {
            // SAFETY: re-raises the handled signal while its handler runs.
            unsafe { libc::raise(libc::SIGUSR2) };
        }
        s.store(c.get(), Ordering::SeqCst);
        if c.get() == 52 {
            lp2.stop();
        }
    })
    .unwrap();
    // SAFETY: the signal has a handler.
    unsafe { libc::raise(libc::SIGUSR2) };
    let sender = std::thread::spawn(move || {
        // Each arrival is sent once the previous one was seen: none may be coalesced away.
        for n in 3..=52 {
            let start = Instant::now();
            while seen.load(Ordering::SeqCst) < n - 1 {
                assert!(start.elapsed() < Duration::from_secs(30), "arrival {} never seen", n - 1);
                std::thread::yield_now();
            }
            // SAFETY: signals this process, whose SIGUSR2 has a handler.
            unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) };
        }
    });
    // A liveness bound only: a lost arrival ends the run here instead of hanging.
    lp.call_later(Duration::from_secs(30), {
        let lp = lp.clone();
        move || lp.stop()
    });
    lp.run_forever().unwrap();
    assert_eq!(calls.get(), 52, "arrivals were lost");
    sender.join().unwrap();
    lp.close().unwrap();
}
