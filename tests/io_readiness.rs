//! I/O readiness on a Unix socket pair and on TCP loopback: `add_reader`/`add_writer`/`remove_*`,
//! replacing a reader, `Async::read_with`/`write_with`, and the futures-io traits.

#[path = "support/pair.rs"]
mod pair;
use pair::*;

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tulip::{Async, EventLoop};

#[test]
fn reader_is_called_while_readable_and_not_after_removal() {
    let lp = EventLoop::new().unwrap();
    let (mut a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let fd = b.as_raw_fd();
    // Kept alive outside the callback: removing the reader drops the closure, not the socket.
    let b = Rc::new(b);
    let calls = Rc::new(Cell::new(0));
    let got = Rc::new(RefCell::new(Vec::new()));
    let (c, g, lp2, b2) = (calls.clone(), got.clone(), lp.clone(), b.clone());
    // SAFETY: the fd stays open until its callback is removed (or the loop closed).
    unsafe {
        lp.add_reader(fd, move || {
            let mut b = &*b2;
            c.set(c.get() + 1);
            // Read one byte per call: the reader is level-triggered, so it is called again while
            // data is left.
            let mut byte = [0u8; 1];
            match b.read(&mut byte) {
                Ok(1) => g.borrow_mut().push(byte[0]),
                other => panic!("unexpected read: {other:?}"),
            }
            if g.borrow().len() == 3 {
                assert!(lp2.remove_reader(fd));
                lp2.stop();
            }
        })
    }
    .unwrap();
    a.write_all(b"xyz").unwrap();
    lp.run_forever().unwrap();
    assert_eq!(*got.borrow(), b"xyz");
    assert_eq!(calls.get(), 3);
    // Removed: more data does not call it.
    a.write_all(b"more").unwrap();
    lp.run_until_complete(async {}).unwrap();
    assert_eq!(calls.get(), 3);
    assert!(!lp.remove_reader(fd));
    drop(b);
    lp.close().unwrap();
}

#[test]
fn writer_is_called_when_writable_and_removed() {
    let lp = EventLoop::new().unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let lp2 = lp.clone();
    // SAFETY: the fd stays open until its callback is removed (or the loop closed).
    unsafe {
        lp.add_writer(fd, move || {
            (&a).write_all(b"hello").unwrap();
            assert!(lp2.remove_writer(fd));
            lp2.stop();
        })
    }
    .unwrap();
    lp.run_forever().unwrap();
    let mut buf = [0; 5];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    assert!(!lp.remove_writer(fd));
    lp.close().unwrap();
}

#[test]
fn reader_and_writer_on_one_fd_are_independent() {
    let lp = EventLoop::new().unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let fd = a.as_raw_fd();
    let a = Rc::new(a);
    let (wrote, read) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
    let (a1, w, lp1) = (a.clone(), wrote.clone(), lp.clone());
    // SAFETY: the fd stays open until its callback is removed (or the loop closed).
    unsafe {
        lp.add_writer(fd, move || {
            (&*a1).write_all(b"w").unwrap();
            w.set(true);
            lp1.remove_writer(fd);
        })
    }
    .unwrap();
    let (a2, r, lp2) = (a.clone(), read.clone(), lp.clone());
    // SAFETY: the fd stays open until its callback is removed (or the loop closed).
    unsafe {
        lp.add_reader(fd, move || {
            let mut buf = [0; 1];
            (&*a2).read_exact(&mut buf).unwrap();
            r.set(true);
            lp2.remove_reader(fd);
            lp2.stop();
        })
    }
    .unwrap();
    // Removing the writer must leave the reader armed.
    let mut buf = [0; 1];
    lp.run_until_complete(async {}).unwrap();
    b.read_exact(&mut buf).unwrap();
    assert!(wrote.get());
    b.write_all(b"r").unwrap();
    lp.run_forever().unwrap();
    assert!(read.get());
    lp.close().unwrap();
}

struct DropFlag(Rc<Cell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn a_new_reader_replaces_the_old_one() {
    let lp = EventLoop::new().unwrap();
    let (mut a, b) = UnixStream::pair().unwrap();
    let fd = b.as_raw_fd();
    let old_dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(old_dropped.clone());
    // SAFETY: the fd stays open until its callback is removed (or the loop closed).
    unsafe {
        lp.add_reader(fd, move || {
            let _f = &flag;
            panic!("the replaced reader must not be called");
        })
    }
    .unwrap();
    let lp2 = lp.clone();
    // SAFETY: the fd stays open until its callback is removed (or the loop closed).
    unsafe {
        lp.add_reader(fd, move || {
            let mut buf = [0; 2];
            (&b).read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"hi");
            lp2.remove_reader(fd);
            lp2.stop();
        })
    }
    .unwrap();
    assert!(old_dropped.get(), "the replaced reader is dropped at once");
    a.write_all(b"hi").unwrap();
    lp.run_forever().unwrap();
    lp.close().unwrap();
}

#[test]
fn a_reader_removed_earlier_in_the_same_pass_is_not_called() {
    // asyncio's remove_reader cancels the handle already queued for this pass; a reader must never
    // be called after removal (its fd may be closed by then).
    let lp = EventLoop::new().unwrap();
    let (mut a1, b1) = UnixStream::pair().unwrap();
    let (mut a2, b2) = UnixStream::pair().unwrap();
    let (fd1, fd2) = (b1.as_raw_fd(), b2.as_raw_fd());
    let calls = Rc::new(Cell::new(0));
    for (mine, other) in [(fd1, fd2), (fd2, fd1)] {
        let (c, lp2) = (calls.clone(), lp.clone());
        // SAFETY: the fd stays open until its callback is removed (or the loop closed).
        unsafe {
            lp.add_reader(mine, move || {
                c.set(c.get() + 1);
                lp2.remove_reader(other);
                lp2.remove_reader(mine);
            })
        }
        .unwrap();
    }
    // Both readable before the pass: both readers are queued by the same poll.
    a1.write_all(b"1").unwrap();
    a2.write_all(b"2").unwrap();
    lp.run_until_complete(async {}).unwrap();
    assert_eq!(calls.get(), 1, "the reader removed by the first one ran anyway");
    drop((b1, b2));
    lp.close().unwrap();
}

/// The number that is never an open fd (-1), or socket (`INVALID_SOCKET`).
#[cfg(unix)]
const INVALID: std::os::fd::RawFd = -1;
#[cfg(windows)]
const INVALID: std::os::windows::io::RawSocket = !0;

#[test]
fn add_reader_on_a_bad_fd_fails() {
    let lp = EventLoop::new().unwrap();
    // SAFETY: a number that is not an open fd is refused before the loop keeps it.
    assert!(unsafe { lp.add_reader(1_000_000, || ()) }.is_err());
    // SAFETY: a number that is not an open fd is refused before the loop keeps it.
    assert!(unsafe { lp.add_writer(INVALID, || ()) }.is_err());
    // Nothing half-registered stays behind.
    assert!(!lp.remove_reader(1_000_000));
    assert!(!lp.remove_writer(INVALID));
    lp.close().unwrap();
}

#[test]
fn async_read_with_and_write_with_on_a_socket_pair() {
    tulip::run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());
        let lp = tulip::get_running_loop();
        // The reader waits first: readiness arrives while it is parked.
        let reader = lp.spawn(async move {
            let mut buf = [0; 4];
            b.read_with(|s| (&*s).read_exact(&mut buf)).await.unwrap();
            buf
        });
        tulip::sleep(std::time::Duration::from_millis(1)).await;
        a.write_with(|s| (&*s).write(b"ping")).await.unwrap();
        assert_eq!(&reader.await.unwrap(), b"ping");
    });
}

#[test]
fn async_writable_waits_until_the_peer_drains() {
    tulip::run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        // Fill the socket buffer until a write would block.
        let chunk = [7u8; 4096];
        let mut filled = 0usize;
        loop {
            match (a.get_ref()).write(&chunk) {
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        // A thread drains it; writable() completes once there is room.
        let drainer = std::thread::spawn(move || {
            let mut b = b;
            let mut buf = vec![0u8; filled];
            b.read_exact(&mut buf).unwrap();
            b
        });
        a.writable().await.unwrap();
        a.write_with(|s| (&*s).write(b"!")).await.unwrap();
        let mut b = drainer.join().unwrap();
        let mut last = [0u8; 1];
        b.read_exact(&mut last).unwrap();
        assert_eq!(&last, b"!");
    });
}

#[test]
fn futures_io_echo_round_trip_over_tcp_loopback() {
    const LEN: usize = 1 << 20; // larger than the socket buffers: writes must wait for room
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let listener = Async::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let server = lp.spawn(async move {
            let (stream, _) = listener.read_with(|l| l.accept()).await.unwrap();
            let mut stream = Async::new(stream).unwrap();
            let mut buf = vec![0u8; 16 * 1024];
            let mut echoed = 0;
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).await.unwrap();
                echoed += n;
            }
            stream.close().await.unwrap();
            echoed
        });
        let stream = TcpStream::connect(addr).unwrap();
        // One wrapper per direction, each over its own fd, so reader and writer run concurrently.
        let mut rd = Async::new(stream.try_clone().unwrap()).unwrap();
        let mut wr = Async::new(stream).unwrap();
        let payload: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
        let expected = payload.clone();
        let writer = lp.spawn(async move {
            wr.write_all(&payload).await.unwrap();
            wr.flush().await.unwrap();
            wr.get_ref().shutdown(std::net::Shutdown::Write).unwrap();
        });
        let mut got = Vec::with_capacity(LEN);
        rd.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(server.await.unwrap(), LEN);
        assert!(got == expected, "echoed bytes differ");
    });
}

#[test]
fn tcp_accept_and_connect_readiness() {
    tulip::run(async {
        let listener = Async::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let lp = tulip::get_running_loop();
        let fd = listener.as_raw_fd();
        // add_reader on a listening socket fires when a connection is pending.
        let accepted = Rc::new(Cell::new(false));
        let (acc, lp2) = (accepted.clone(), lp.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        // SAFETY: the fd stays open until its callback is removed (or the loop closed).
        unsafe {
            lp.add_reader(fd, move || {
                acc.set(true);
                lp2.remove_reader(fd);
                tx.send(()).unwrap();
            })
        }
        .unwrap();
        let _c = TcpStream::connect(addr).unwrap();
        while rx.try_recv().is_err() {
            tulip::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert!(accepted.get());
        // The Async wrapper of the same fd still works after the callback was removed.
        let (s, _) = listener.read_with(|l| l.accept()).await.unwrap();
        drop(s);
    });
}
