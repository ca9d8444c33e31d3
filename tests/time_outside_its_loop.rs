//! `sleep` and `timeout` polled away from the loop they were armed on: a sleep whose loop was closed
//! fires under the next loop that polls it, and one polled with no loop running panics with a
//! message naming `tulip::sleep` / `tulip::timeout` and the user's line (not `get_running_loop`,
//! a function the user never called).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use futures_lite::future::{block_on, poll_once};
use tulip::EventLoop;

/// Runs `f` on a thread of its own; a hang fails the test instead of hanging it (liveness bound).
fn within_bound<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()));
    rx.recv_timeout(Duration::from_secs(20)).expect("hung")
}

/// Where the last panic on each thread was reported, by thread name (tests run in parallel).
static PANICKED_AT: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Runs `f`, which must panic, and returns its message and where the panic was reported.
fn panic_of(f: impl FnOnce()) -> (String, String) {
    std::panic::set_hook(Box::new(|info| {
        let name = std::thread::current().name().unwrap_or("").to_string();
        let at = info.location().map(|l| format!("{}:{}:", l.file(), l.line())).unwrap_or_default();
        PANICKED_AT.lock().unwrap_or_else(|e| e.into_inner()).push((name, at));
        eprintln!("{info}");
    }));
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("no panic");
    let msg = payload.downcast_ref::<String>().cloned().unwrap_or_default();
    let me = std::thread::current().name().unwrap_or("").to_string();
    let seen = PANICKED_AT.lock().unwrap_or_else(|e| e.into_inner());
    let at = seen.iter().rev().find(|(n, _)| *n == me).map(|(_, at)| at.clone()).unwrap_or_default();
    (msg, at)
}

fn here(line: u32) -> String {
    format!("{}:{}:", file!(), line)
}

#[test]
fn a_sleep_armed_on_a_closed_loop_fires_under_the_next_loop() {
    within_bound(|| {
        let mut sleep = tulip::sleep(Duration::from_millis(20));
        let a = EventLoop::new().unwrap();
        assert_eq!(a.run_until_complete(poll_once(&mut sleep)), Ok(None));
        a.close().unwrap();
        let b = EventLoop::new().unwrap();
        b.run_until_complete(sleep).unwrap();
    });
}

#[test]
fn a_sleep_armed_on_a_stopped_loop_fires_under_another() {
    within_bound(|| {
        let mut sleep = tulip::sleep(Duration::from_secs(3600));
        let a = EventLoop::new().unwrap();
        assert_eq!(a.run_until_complete(poll_once(&mut sleep)), Ok(None));
        drop(sleep);
        // Dropped under no loop: its timer on `a` is cancelled (purged lazily).
        assert_eq!(a.run_until_complete(async {}), Ok(()));
        let mut short = tulip::sleep(Duration::from_millis(20));
        assert_eq!(a.run_until_complete(poll_once(&mut short)), Ok(None));
        let b = EventLoop::new().unwrap();
        b.run_until_complete(short).unwrap();
    });
}

#[test]
// The async block stands for the user's code: its `.await` is the line the panic must name.
#[allow(clippy::redundant_async_block)]
fn sleep_outside_a_loop_panics_naming_sleep_and_the_users_lines() {
    let made = line!() + 1;
    let sleep = tulip::sleep(Duration::from_secs(1));
    let awaited = line!() + 1;
    let (msg, at) = panic_of(|| block_on(async { sleep.await }));
    assert!(msg.contains("tulip::sleep"), "{msg}");
    assert!(msg.contains(&here(made)), "{msg}");
    assert!(msg.contains("no tulip event loop running"), "{msg}");
    assert!(!msg.contains("get_running_loop"), "{msg}");
    assert_eq!(at, here(awaited));
}

#[test]
// The async block stands for the user's code: its `.await` is the line the panic must name.
#[allow(clippy::redundant_async_block)]
fn timeout_outside_a_loop_panics_naming_timeout_and_the_users_lines() {
    let made = line!() + 1;
    let t = tulip::timeout(Duration::from_secs(1), std::future::pending::<()>());
    let awaited = line!() + 2;
    let (msg, at) = panic_of(|| {
        let _ = block_on(async { t.await });
    });
    assert!(msg.contains("tulip::timeout"), "{msg}");
    assert!(msg.contains(&here(made)), "{msg}");
    assert!(!msg.contains("get_running_loop"), "{msg}");
    assert_eq!(at, here(awaited));
}
