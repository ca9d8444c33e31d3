//! A panic in a callback, a thread-safe callback or a task reaches the exception handler and the loop
//! goes on; a panicking exception handler is contained.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tulip::{EventLoop, ExceptionContext, JobError};

/// What the handler saw: (message, panic message) pairs.
type Seen = Rc<RefCell<Vec<(String, Option<String>)>>>;

/// Installs a handler that records (message, panic) pairs.
fn recording(lp: &EventLoop) -> Seen {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    lp.set_exception_handler(Some(move |_: &EventLoop, ctx: &ExceptionContext| {
        s.borrow_mut().push((ctx.message.clone(), ctx.panic.clone()))
    }));
    seen
}

#[test]
fn panic_in_a_callback_reaches_the_handler_and_the_loop_goes_on() {
    let lp = EventLoop::new().unwrap();
    let seen = recording(&lp);
    let after = Rc::new(RefCell::new(false));
    let line = line!() + 1;
    lp.call_soon(|| panic!("callback boom"));
    let a = after.clone();
    lp.call_soon(move || *a.borrow_mut() = true);
    lp.call_later(Duration::ZERO, || panic!("timer boom"));
    lp.run_until_complete(tulip::sleep(Duration::from_millis(1))).unwrap();
    assert!(*after.borrow(), "the callback after the panicking one ran");
    let seen = seen.borrow();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].1.as_deref(), Some("callback boom"));
    assert_eq!(seen[1].1.as_deref(), Some("timer boom"));
    drop(seen);
    // The context carries where the callback was scheduled.
    let loc = Rc::new(RefCell::new(None));
    let l = loc.clone();
    lp.set_exception_handler(Some(move |_: &EventLoop, ctx: &ExceptionContext| {
        *l.borrow_mut() = ctx.location.map(|l| (l.file().to_string(), l.line()))
    }));
    let line2 = line!() + 1;
    lp.call_soon(|| panic!("located"));
    lp.run_until_complete(async {}).unwrap();
    assert_eq!(*loc.borrow(), Some((file!().to_string(), line2)));
    assert!(line < line2);
    lp.close().unwrap();
}

#[test]
fn panic_in_a_threadsafe_callback_reaches_the_handler_and_the_loop_goes_on() {
    let lp = EventLoop::new().unwrap();
    let seen = recording(&lp);
    let h = lp.handle();
    std::thread::spawn(move || {
        h.call_soon_threadsafe(|| panic!("from a thread")).unwrap();
        let h2 = h.clone();
        h.call_soon_threadsafe(move || h2.stop()).unwrap();
    })
    .join()
    .unwrap();
    lp.run_forever().unwrap();
    assert_eq!(seen.borrow().len(), 1);
    assert_eq!(seen.borrow()[0].1.as_deref(), Some("from a thread"));
    assert_eq!(lp.run_until_complete(async { 5 }), Ok(5));
    lp.close().unwrap();
}

#[test]
fn panic_in_a_task_reaches_the_handler_and_awaiting_it_gives_panicked() {
    let lp = EventLoop::new().unwrap();
    let seen = recording(&lp);
    let task = lp.spawn(async {
        tulip::sleep(Duration::from_millis(1)).await;
        if true {
            panic!("task boom");
        }
        1u32
    });
    let other = lp.spawn(async { 2u32 });
    assert_eq!(lp.run_until_complete(task).unwrap(), Err(JobError::Panicked("task boom".into())));
    assert_eq!(lp.run_until_complete(other).unwrap(), Ok(2));
    assert_eq!(seen.borrow().len(), 1);
    assert_eq!(seen.borrow()[0].1.as_deref(), Some("task boom"));
    // A panic with a formatted message keeps the message.
    let n = 3;
    let t = lp.spawn(async move { panic!("task {n}") });
    assert_eq!(lp.run_until_complete(t).unwrap(), Err(JobError::Panicked("task 3".into())));
    lp.close().unwrap();
}

#[test]
fn panic_in_a_detached_task_is_not_silent() {
    let lp = EventLoop::new().unwrap();
    let seen = recording(&lp);
    drop(lp.spawn(async { panic!("nobody awaits me") }));
    lp.run_until_complete(tulip::sleep(Duration::from_millis(1))).unwrap();
    assert_eq!(seen.borrow().len(), 1);
    lp.close().unwrap();
}

#[test]
fn panic_in_a_spawn_threadsafe_task_reaches_its_future_and_the_handler() {
    let lp = EventLoop::new().unwrap();
    let seen = recording(&lp);
    let h = lp.handle();
    let t = std::thread::spawn(move || {
        let r = h.spawn_threadsafe(async { panic!("remote boom") }).wait();
        h.stop();
        r
    });
    lp.run_forever().unwrap();
    let r: Result<(), _> = t.join().unwrap();
    assert_eq!(r, Err(JobError::Panicked("remote boom".into())));
    assert_eq!(seen.borrow().len(), 1);
    lp.close().unwrap();
}

#[test]
fn a_panicking_exception_handler_is_contained() {
    let lp = EventLoop::new().unwrap();
    let calls = Rc::new(RefCell::new(0));
    let c = calls.clone();
    lp.set_exception_handler(Some(move |_: &EventLoop, _: &ExceptionContext| {
        *c.borrow_mut() += 1;
        panic!("the handler itself fails");
    }));
    lp.call_soon(|| panic!("first"));
    lp.call_soon(|| panic!("second"));
    let after = Rc::new(RefCell::new(false));
    let a = after.clone();
    lp.call_soon(move || *a.borrow_mut() = true);
    lp.run_until_complete(async {}).unwrap();
    assert_eq!(*calls.borrow(), 2);
    assert!(*after.borrow());
    lp.call_exception_handler(ExceptionContext::new("by hand"));
    assert_eq!(*calls.borrow(), 3);
    lp.close().unwrap();
}

#[test]
fn the_handler_may_use_the_loop() {
    let lp = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    lp.set_exception_handler(Some(move |lp: &EventLoop, ctx: &ExceptionContext| {
        let l2 = l.clone();
        l.borrow_mut().push(ctx.panic.clone().unwrap_or_default());
        // Scheduling from the handler and replacing the handler are both fine.
        lp.call_soon(move || l2.borrow_mut().push("scheduled by the handler".into()));
        lp.set_exception_handler(None::<fn(&EventLoop, &ExceptionContext)>);
    }));
    lp.call_soon(|| panic!("once"));
    lp.run_until_complete(tulip::sleep(Duration::from_millis(1))).unwrap();
    assert_eq!(*log.borrow(), vec!["once".to_string(), "scheduled by the handler".to_string()]);
    lp.close().unwrap();
}

#[test]
fn a_panic_in_the_main_future_reaches_the_caller_and_the_loop_stays_usable() {
    let lp = EventLoop::new().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lp.run_until_complete(async { panic!("main boom") })
    }));
    assert!(r.is_err());
    assert!(!lp.is_running());
    assert!(tulip::try_get_running_loop().is_none());
    assert_eq!(lp.run_until_complete(async { 1 }), Ok(1));
    lp.close().unwrap();
}
