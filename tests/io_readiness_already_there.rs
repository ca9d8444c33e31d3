//! Readiness that is already there when a wait begins is reported, whatever mode the poller watches
//! a source in.
//!
//! Futures alone are watched edge-triggered where the poller can: an event comes when data arrives,
//! not while it sits unread. A wait that did not just see `WouldBlock` (`readable()`, `writable()`)
//! must still complete at once when the fd is ready, and a reader added to such an fd keeps being
//! called while data is left (callbacks are level-triggered, as in asyncio).

#[path = "support/pair.rs"]
mod pair;
use pair::*;

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use tulip::{Async, EventLoop};

/// A liveness bound only: each wait here completes at once or never.
const BOUND: Duration = Duration::from_secs(10);

/// Reads one byte, as `read_with` wants it.
fn one_byte(s: &UnixStream) -> io::Result<u8> {
    let mut b = [0u8; 1];
    (&*s).read_exact(&mut b).map(|()| b[0])
}

#[test]
fn readable_completes_while_data_sits_unread_after_its_event_was_taken() {
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let (mut a, b) = UnixStream::pair().unwrap();
        let b = Rc::new(Async::new(b).unwrap());
        // The first read waits (nothing sent yet); the event that ends the wait is taken.
        let reader = b.clone();
        let first = lp.spawn(async move { reader.read_with(one_byte).await.unwrap() });
        tulip::sleep(Duration::from_millis(1)).await;
        a.write_all(b"xy").unwrap();
        assert_eq!(first.await.unwrap(), b'x');
        // `y` is unread and no new data will come: only a re-check can report it.
        for _ in 0..2 {
            let ready = tulip::timeout(BOUND, b.readable()).await;
            assert!(matches!(ready, Ok(Ok(()))), "readable() did not see the unread byte: {ready:?}");
        }
        assert_eq!(b.read_with(one_byte).await.unwrap(), b'y');
    });
}

#[test]
fn writable_completes_on_a_writable_socket_that_waited_before() {
    tulip::run(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        let b = Async::new(b).unwrap();
        let reading = b.read_with(one_byte);
        let send = async {
            tulip::sleep(Duration::from_millis(1)).await;
            a.write_all(b"x").unwrap();
        };
        let (got, ()) = futures_lite::future::zip(reading, send).await;
        assert_eq!(got.unwrap(), b'x');
        for _ in 0..2 {
            let ready = tulip::timeout(BOUND, b.writable()).await;
            assert!(matches!(ready, Ok(Ok(()))), "writable() did not see the free buffer: {ready:?}");
        }
    });
}

#[test]
fn a_reader_added_to_an_fd_whose_future_waited_is_level_triggered() {
    let lp = EventLoop::new().unwrap();
    let (mut a, b) = UnixStream::pair().unwrap();
    let b = Rc::new(Async::with_loop(&lp, b).unwrap());
    // A future waits on `b` first.
    let (reader, lp2) = (b.clone(), lp.clone());
    let first = lp.spawn(async move { reader.read_with(one_byte).await.unwrap() });
    lp.call_later(Duration::from_millis(1), {
        let mut a = a.try_clone().unwrap();
        move || a.write_all(b"x").unwrap()
    });
    assert_eq!(lp.run_until_complete(first).unwrap(), Ok(b'x'));
    // One byte per call: the reader must be called again while data is left.
    let calls = Rc::new(Cell::new(0));
    let (c, b2) = (calls.clone(), b.clone());
    let fd = b.as_raw_fd();
    // SAFETY: `b` keeps the fd open past `remove_reader` below.
    unsafe {
        lp.add_reader(fd, move || {
            one_byte(b2.get_ref()).unwrap();
            c.set(c.get() + 1);
            if c.get() == 3 {
                lp2.remove_reader(fd);
                lp2.stop();
            }
        })
    }
    .unwrap();
    a.write_all(b"xyz").unwrap();
    let lp3 = lp.clone();
    let bound = lp.call_later(BOUND, move || lp3.stop());
    lp.run_forever().unwrap();
    bound.cancel();
    assert_eq!(calls.get(), 3, "the reader was not called again while data was left");
    // The reader is gone: the future waits on the fd again, and is woken.
    a.write_all(b"q").unwrap();
    let got = lp.run_until_complete(tulip::timeout(BOUND, b.read_with(one_byte))).unwrap();
    assert!(matches!(got, Ok(Ok(b'q'))), "the future was not woken after the reader left: {got:?}");
    drop(b);
    lp.close().unwrap();
}
