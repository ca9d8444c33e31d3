//! A readiness future polled by a new task (a waker that does not `will_wake` the old one) drops the
//! old waker instead of keeping both; a dropped future leaves no waker behind.

#[path = "support/pair.rs"]
mod pair;
use pair::*;

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use tulip::Async;

struct Noop;
impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn a_replaced_waker_is_dropped() {
    tulip::run(async {
        let (_a, b) = UnixStream::pair().unwrap();
        let b = Async::new(b).unwrap();
        let (first, second) = (Arc::new(Noop), Arc::new(Noop));
        let mut fut = Box::pin(b.readable());
        let w1 = Waker::from(first.clone());
        assert!(fut.as_mut().poll(&mut Context::from_waker(&w1)).is_pending());
        drop(w1);
        assert_eq!(Arc::strong_count(&first), 2, "the source keeps the waiting waker");
        let w2 = Waker::from(second.clone());
        assert!(fut.as_mut().poll(&mut Context::from_waker(&w2)).is_pending());
        drop(w2);
        assert_eq!(Arc::strong_count(&first), 1, "the replaced waker was kept");
        assert_eq!(Arc::strong_count(&second), 2);
        drop(fut);
        assert_eq!(Arc::strong_count(&second), 1, "a dropped future left its waker behind");
    });
}

#[test]
fn the_same_task_polling_again_keeps_one_waker() {
    tulip::run(async {
        let (_a, b) = UnixStream::pair().unwrap();
        let b = Async::new(b).unwrap();
        let w = Arc::new(Noop);
        let mut fut = Box::pin(b.readable());
        let waker = Waker::from(w.clone());
        for _ in 0..10 {
            assert!(fut.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        }
        drop(waker);
        assert_eq!(Arc::strong_count(&w), 2);
        assert!(matches!(fut.as_mut().poll(&mut Context::from_waker(Waker::noop())), Poll::Pending));
    });
}
