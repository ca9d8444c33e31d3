//! `sleep`, `timeout` (a typed `Elapsed`), and `run()`: it returns the main future's value, cancels the
//! tasks left over, and closes its loop, even when the main future panics.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tulip::{Elapsed, EventLoop, JobError};

#[test]
fn sleep_waits_at_least_its_duration() {
    tulip::run(async {
        let t = Instant::now();
        tulip::sleep(Duration::from_millis(10)).await;
        assert!(t.elapsed() >= Duration::from_millis(10));
        // Zero and past deadlines complete without a timer.
        tulip::sleep(Duration::ZERO).await;
        // Absurd durations do not overflow (the sleep is just never due).
        let never = tulip::sleep(Duration::MAX);
        assert_eq!(tulip::timeout(Duration::from_millis(1), never).await, Err(Elapsed));
    });
}

#[test]
fn sleeps_wake_in_deadline_order() {
    let order = tulip::run(async {
        let lp = tulip::get_running_loop();
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let tasks: Vec<_> = [3u64, 1, 2]
            .into_iter()
            .map(|ms| {
                let log = log.clone();
                lp.spawn(async move {
                    tulip::sleep(Duration::from_millis(ms * 3)).await;
                    log.borrow_mut().push(ms);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let v = log.borrow().clone();
        v
    });
    assert_eq!(order, vec![1, 2, 3]);
}

#[test]
fn a_dropped_sleep_cancels_its_timer() {
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async {
        let mut s = Box::pin(tulip::sleep(Duration::from_secs(3600)));
        // Poll once to arm it, then drop it.
        assert!(futures_lite::future::poll_once(s.as_mut()).await.is_none());
    })
    .unwrap();
    assert_eq!(lp.timer_heap_len(), 1);
    // The cancelled entry is marked: a close finds nothing live to drop.
    lp.close().unwrap();
    assert_eq!(lp.timer_heap_len(), 0);
}

#[test]
fn timeout_gives_the_value_or_elapsed_and_drops_the_future() {
    struct Guard(Rc<Cell<bool>>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    tulip::run(async {
        assert_eq!(tulip::timeout(Duration::from_secs(5), async { 5 }).await, Ok(5));
        let dropped = Rc::new(Cell::new(false));
        let g = Guard(dropped.clone());
        let slow = async move {
            let _g = g;
            tulip::sleep(Duration::from_secs(60)).await;
        };
        let t = Instant::now();
        assert_eq!(tulip::timeout(Duration::from_millis(5), slow).await, Err(Elapsed));
        assert!(t.elapsed() >= Duration::from_millis(5));
        assert!(dropped.get(), "the timed-out future is dropped when the Timeout is");
        // Elapsed is a real error type.
        let e: Box<dyn std::error::Error> = Box::new(Elapsed);
        assert!(e.to_string().starts_with("deadline elapsed"), "{e}");
    });
}

#[test]
fn run_returns_the_value_and_cancels_leftover_tasks() {
    let (tx, rx) = mpsc::channel::<()>();
    let (htx, hrx) = mpsc::channel();
    let v = tulip::run(async move {
        let lp = tulip::get_running_loop();
        htx.send(lp.handle()).unwrap();
        // Never finishes; holds a Sender and a clone of the loop.
        drop(lp.spawn(async move {
            let _tx = tx;
            let _lp = tulip::get_running_loop();
            std::future::pending::<()>().await
        }));
        tulip::sleep(Duration::from_millis(1)).await;
        "done"
    });
    assert_eq!(v, "done");
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected), "the leftover task was dropped");
    let h: tulip::LoopHandle = hrx.recv().unwrap();
    assert!(h.is_closed());
    assert!(tulip::try_get_running_loop().is_none());
}

#[test]
fn run_closes_its_loop_even_when_the_main_future_panics() {
    let (tx, rx) = mpsc::channel::<()>();
    let (htx, hrx) = mpsc::channel();
    let r = std::panic::catch_unwind(move || {
        tulip::run(async move {
            let lp = tulip::get_running_loop();
            htx.send(lp.handle()).unwrap();
            // A leftover task holding a clone of the loop: a cycle unless run() closes the loop.
            drop(lp.spawn(async move {
                let _tx = tx;
                let _lp = tulip::get_running_loop();
                std::future::pending::<()>().await
            }));
            tulip::sleep(Duration::from_millis(1)).await;
            panic!("main future fails");
        })
    });
    assert!(r.is_err());
    let h: tulip::LoopHandle = hrx.recv().unwrap();
    assert!(h.is_closed(), "run() left its loop open after a panic");
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
    // A new run works on this thread afterwards.
    assert_eq!(tulip::run(async { 1 }), 1);
}

#[test]
fn run_inside_a_running_loop_panics_clearly() {
    let lp = EventLoop::new().unwrap();
    let r = lp
        .run_until_complete(async {
            std::panic::catch_unwind(|| tulip::run(async {})).map_err(|p| {
                p.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
            })
        })
        .unwrap();
    let msg = r.unwrap_err().unwrap();
    assert!(msg.contains("cannot be called while a tulip event loop is running"), "{msg}");
    lp.close().unwrap();
}

#[test]
fn awaiting_a_task_cancelled_by_run_end_from_outside() {
    // A Task handle that outlives run(): its task was cancelled when the loop closed.
    let task = std::cell::RefCell::new(None);
    tulip::run(async {
        *task.borrow_mut() = Some(tulip::get_running_loop().spawn(std::future::pending::<u8>()));
    });
    let task = task.into_inner().unwrap();
    assert!(task.is_done());
    assert_eq!(futures_lite::future::block_on(task), Err(JobError::Cancelled));
}
