//! A foreign waker that panics when the loop wakes it for I/O readiness does not lose the other
//! wakeups of that pass, nor unwind out of the loop: the panic goes to the exception handler (as
//! async-io catches a panicking waker).

#[path = "support/pair.rs"]
mod pair;
use pair::*;

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use tulip::{Async, EventLoop};

/// A waker of some other executor that panics when woken.
struct Panics;

impl Wake for Panics {
    fn wake(self: Arc<Self>) {
        panic!("a foreign waker panicked");
    }
}

#[test]
fn a_panicking_waker_loses_no_other_wakeup_and_is_reported() {
    let lp = EventLoop::new().unwrap();
    let reports = Rc::new(RefCell::new(Vec::new()));
    let r = reports.clone();
    lp.set_exception_handler(Some(move |_: &EventLoop, ctx: &tulip::ExceptionContext| {
        r.borrow_mut().push(ctx.to_string())
    }));
    let out = lp.run_until_complete(async {
        let (a, mut a_peer) = UnixStream::pair().unwrap();
        let (b, mut b_peer) = UnixStream::pair().unwrap();
        let (a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());
        // `a` waits with the foreign waker, `b` in a task of this loop.
        let mut a_ready = Box::pin(a.readable());
        let foreign = Waker::from(Arc::new(Panics));
        assert!(a_ready.as_mut().poll(&mut Context::from_waker(&foreign)).is_pending());
        let task = tulip::get_running_loop().spawn(async move { b.readable().await });
        tulip::sleep(std::time::Duration::from_millis(1)).await;
        // Both become readable at once: one pass of the loop wakes both wakers.
        a_peer.write_all(b"x").unwrap();
        b_peer.write_all(b"x").unwrap();
        let woke = task.await;
        drop(a_ready);
        woke
    });
    assert!(matches!(out, Ok(Ok(Ok(())))), "{out:?}");
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("a foreign waker panicked"), "{reports:?}");
    lp.close().unwrap();
}
