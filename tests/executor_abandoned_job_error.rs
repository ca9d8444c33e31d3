//! The error of a job whose future was dropped while it ran reaches the loop's exception handler.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn abandoned_job_panic_goes_to_the_exception_handler() {
    let seen = Rc::new(RefCell::new(Vec::<String>::new()));
    let s = seen.clone();
    tulip::run(async move {
        let lp = tulip::get_running_loop();
        lp.set_exception_handler(Some(move |_: &tulip::EventLoop, ctx: &tulip::ExceptionContext| {
            s.borrow_mut().push(ctx.message.clone())
        }));
        let (started_tx, started_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let fut = lp.run_in_executor(None, move || -> u32 {
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            panic!("failed after everyone left")
        });
        tulip::to_thread(move || started_rx.recv().unwrap()).await.unwrap();
        drop(fut); // abandoned while running
        go_tx.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen.borrow().is_empty() {
            assert!(Instant::now() < deadline, "the error never reached the handler");
            tulip::sleep(Duration::from_millis(1)).await;
        }
        let msgs = seen.borrow();
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].contains("a job whose future was dropped failed"), "{}", msgs[0]);
        assert!(msgs[0].contains("failed after everyone left"), "{}", msgs[0]);
    });
}

#[test]
fn abandoned_job_that_succeeds_reports_nothing() {
    let seen = Rc::new(RefCell::new(0));
    let s = seen.clone();
    tulip::run(async move {
        let lp = tulip::get_running_loop();
        lp.set_exception_handler(Some(move |_: &tulip::EventLoop, _: &tulip::ExceptionContext| {
            *s.borrow_mut() += 1
        }));
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let pool = lp.default_executor().unwrap();
        let fut = lp.run_in_executor(None, move || go_rx.recv().unwrap());
        while pool.stats().running == 0 {
            tulip::sleep(Duration::from_millis(1)).await;
        }
        drop(fut);
        go_tx.send(()).unwrap();
        while pool.stats().running > 0 {
            tulip::sleep(Duration::from_millis(1)).await;
        }
        // One more pass of the loop for a report that might be on its way.
        tulip::sleep(Duration::from_millis(5)).await;
    });
    assert_eq!(*seen.borrow(), 0);
}
