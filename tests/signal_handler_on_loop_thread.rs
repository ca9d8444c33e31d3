//! Signals: a handler added with `add_signal_handler` runs on the loop's thread, even when the
//! signal is sent from another thread (the OS may run the C-level handler on any thread).

#[cfg(windows)]
#[test]
fn skipped_on_windows() {
    println!("skipped on Windows: tulip::signal is Unix-only (README, Platforms)");
}

#[cfg(unix)]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(unix)]
use std::sync::Arc;
#[cfg(unix)]
use std::time::Duration;

#[cfg(unix)]
#[test]
fn the_handler_runs_on_the_loop_thread() {
    let lp = tulip::EventLoop::new().unwrap();
    let loop_thread = std::thread::current().id();
    let ran_here = Arc::new(AtomicBool::new(false));
    let (r, lp2) = (ran_here.clone(), lp.clone());
    lp.add_signal_handler(libc::SIGUSR1, move || {
        r.store(std::thread::current().id() == loop_thread, Ordering::SeqCst);
        lp2.stop();
    })
    .unwrap();
    let sender = std::thread::spawn(|| {
        // SAFETY: signals this process, whose SIGUSR1 now has a handler.
        unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
    });
    // A liveness bound only: the handler stops the loop well before.
    lp.call_later(Duration::from_secs(30), {
        let lp = lp.clone();
        move || lp.stop()
    });
    lp.run_forever().unwrap();
    sender.join().unwrap();
    assert!(ran_here.load(Ordering::SeqCst), "the handler did not run, or not on the loop's thread");
    lp.close().unwrap();
}
