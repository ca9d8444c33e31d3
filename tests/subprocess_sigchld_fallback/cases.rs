use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::future::yield_now;
use tulip::subprocess::Command;

#[path = "../support/disposition.rs"]
mod disposition;
use disposition::disposition;

#[test]
fn children_wake_the_loop_by_sigchld_without_polling() {
    // The only test of this binary: set before tulip reads it, with no other thread running.
    std::env::set_var("TULIP_PIDFD", "0");
    let lp = tulip::EventLoop::new().unwrap();
    let work = async {
        let lp = tulip::get_running_loop();
        // One pass first, so the timeout's own timer is in the baseline.
        yield_now().await;
        let baseline = lp.timer_heap_len();
        let tasks: Vec<_> = (0..60)
            .map(|i| {
                lp.spawn(
                    async move { Command::new("sh").args(["-c", &format!("exit {}", i % 7)]).status().await },
                )
            })
            .collect();
        let mut most = baseline;
        while tasks.iter().any(|t| !t.is_done()) {
            most = most.max(lp.timer_heap_len());
            yield_now().await;
        }
        assert_eq!(most, baseline, "a wait armed a timer: it polls");
        assert_ne!(
            disposition(libc::SIGCHLD),
            libc::SIG_DFL,
            "no SIGCHLD handler while children were awaited"
        );
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap().unwrap().code(), Some(i as i32 % 7));
        }
        // A dropped child goes to the background reaper, which also wakes by `SIGCHLD`.
        Command::new("true").spawn().unwrap().id()
    };
    let dropped = lp.run_until_complete(tulip::timeout(Duration::from_secs(60), work)).unwrap().unwrap();
    lp.close().unwrap();
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{dropped}")).exists()
        || disposition(libc::SIGCHLD) != libc::SIG_DFL
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "dropped child {dropped} left unreaped, or SIGCHLD's disposition not put back"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    // The SIGCHLDs above were the child waits', not a loop handler's: a SIGCHLD handler added
    // now does not fire for them.
    let lp = tulip::EventLoop::new().unwrap();
    let chld = Rc::new(Cell::new(0));
    let c = chld.clone();
    lp.add_signal_handler(libc::SIGCHLD, move || c.set(c.get() + 1)).unwrap();
    let lp2 = lp.clone();
    lp.add_signal_handler(libc::SIGUSR2, move || lp2.stop()).unwrap();
    // SAFETY: raising a signal that has a handler.
    unsafe { libc::raise(libc::SIGUSR2) };
    lp.run_forever().unwrap();
    assert_eq!(chld.get(), 0, "a SIGCHLD handler ran for signals that arrived before it was added");
}
