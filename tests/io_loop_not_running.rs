//! An `Async` or `TcpStream` polled while its own loop is not running fails with `LoopNotRunning`
//! (naming the caller's line where the future was made) instead of waiting for a wakeup that can never
//! come.

#[path = "support/pair.rs"]
mod pair;
use pair::*;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use futures_lite::AsyncReadExt;
use tulip::{Async, EventLoop, LoopNotRunning};

fn not_running(e: &std::io::Error) -> LoopNotRunning {
    match e.get_ref().and_then(|e| e.downcast_ref::<LoopNotRunning>()) {
        Some(n) => *n,
        None => panic!("expected LoopNotRunning, got {e:?}"),
    }
}

#[test]
fn readable_off_its_loop_fails_and_names_the_callers_line() {
    let lp = EventLoop::new().unwrap();
    let (_a, b) = UnixStream::pair().unwrap();
    let b = Async::with_loop(&lp, b).unwrap();
    let line = line!() + 1;
    let mut fut = pin!(b.readable());
    let Poll::Ready(Err(e)) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("a readiness future of a loop that is not running waits forever");
    };
    let caller = not_running(&e).caller.expect("the caller's location");
    assert_eq!((caller.file(), caller.line()), (file!(), line), "{e}");
    assert!(e.to_string().contains("not running"), "{e}");
}

#[test]
fn a_stream_polled_on_another_loop_fails() {
    let first = EventLoop::new().unwrap();
    let (mut stream, _server) = first
        .run_until_complete(async {
            let l = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
            let s = tulip::net::TcpStream::connect_addr(l.local_addr().unwrap()).await.unwrap();
            (s, l.accept().await.unwrap())
        })
        .unwrap();
    let second = EventLoop::new().unwrap();
    let r = second
        .run_until_complete(async move {
            let mut buf = [0; 1];
            futures_lite::future::poll_once(stream.read(&mut buf)).await
        })
        .unwrap();
    match r {
        Some(Err(e)) => {
            not_running(&e);
        }
        other => panic!("a stream of a loop that is not running: {other:?} (before: pending forever)"),
    }
}

#[test]
fn accept_on_another_loop_fails_and_names_the_callers_line() {
    let first = EventLoop::new().unwrap();
    let listener = first
        .run_until_complete(async { tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap() })
        .unwrap();
    let second = EventLoop::new().unwrap();
    let line = line!() + 2;
    let r = second
        .run_until_complete(async { futures_lite::future::poll_once(listener.accept()).await })
        .unwrap();
    let Some(Err(e)) = r else { panic!("accept on a loop that is not running waits forever") };
    let caller = not_running(&e).caller.expect("the caller's location");
    assert_eq!((caller.file(), caller.line()), (file!(), line), "{e}");
}
