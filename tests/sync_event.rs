//! `tulip::Event`: `set` from another thread wakes a task on the loop; after `clear`, `wait` waits.

use std::sync::Arc;
use std::time::Duration;

use tulip::Event;

#[test]
fn set_from_a_thread_wakes_every_waiting_task() {
    tulip::run(async {
        let ev = Arc::new(Event::new());
        let lp = tulip::get_running_loop();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let ev = ev.clone();
                lp.spawn(async move { ev.wait().await })
            })
            .collect();
        tulip::sleep(Duration::from_millis(2)).await;
        let e = ev.clone();
        std::thread::spawn(move || e.set()).join().unwrap();
        for w in waiters {
            assert_eq!(tulip::timeout(Duration::from_secs(10), w).await, Ok(Ok(())));
        }
    });
}

#[test]
fn after_clear_wait_waits_for_the_next_set() {
    tulip::run(async {
        let ev = Event::new();
        ev.set();
        ev.wait().await;
        ev.clear();
        assert!(tulip::timeout(Duration::from_millis(10), ev.wait()).await.is_err());
        ev.set();
        ev.wait().await;
    });
}
