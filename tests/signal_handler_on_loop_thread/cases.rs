use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
