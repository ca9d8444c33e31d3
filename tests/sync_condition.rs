//! `tulip::Condition`: a task waiting under a `Mutex` wakes when a thread changes the value and
//! notifies; the lock is released while it waits.

use std::sync::Arc;
use std::time::Duration;

use tulip::{Condition, Mutex};

#[test]
fn a_task_wakes_when_a_thread_notifies() {
    let state = Arc::new((Mutex::new(0u32), Condition::new()));
    let s = state.clone();
    let t = std::thread::spawn(move || {
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(1));
            *s.0.lock_blocking() += 1;
            s.1.notify_all();
        }
    });
    tulip::run(async {
        let (m, cond) = &*state;
        let g = tulip::timeout(Duration::from_secs(10), cond.wait_for(m.lock().await, |v| *v == 3)).await;
        assert_eq!(*g.unwrap(), 3);
    });
    t.join().unwrap();
}

#[test]
fn notify_one_wakes_one_waiter_at_a_time() {
    tulip::run(async {
        let state = std::rc::Rc::new((Mutex::new(0u32), Condition::new()));
        let lp = tulip::get_running_loop();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let s = state.clone();
                lp.spawn(async move {
                    let g = s.1.wait(s.0.lock().await).await;
                    *g
                })
            })
            .collect();
        tulip::sleep(Duration::from_millis(2)).await;
        *state.0.lock().await = 1;
        state.1.notify(1);
        tulip::sleep(Duration::from_millis(2)).await;
        let woken = waiters.iter().filter(|w| w.is_done()).count();
        assert_eq!(woken, 1);
        state.1.notify(1);
        for w in waiters {
            assert_eq!(w.await, Ok(1));
        }
    });
}
