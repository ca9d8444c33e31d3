use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use tulip::{Async, EventLoop};

/// A fresh socket pair whose read end has exactly the number `fd` (which must be free).
fn pair_on(fd: RawFd) -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    if b.as_raw_fd() == fd {
        return (a, b);
    }
    assert_ne!(a.as_raw_fd(), fd, "fd {fd} must be free");
    // SAFETY: dup2 onto a number this test owns and just saw closed; the result is owned below.
    let r = unsafe { libc::dup2(b.as_raw_fd(), fd) };
    assert_eq!(r, fd, "dup2: {}", std::io::Error::last_os_error());
    drop(b);
    // SAFETY: `fd` is now an open socket that nothing else owns.
    (a, UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Registers a fresh socket on `fd` with `lp` and checks that readiness works on it.
fn fd_registers_cleanly(lp: &EventLoop, fd: RawFd) {
    let (mut a, b) = pair_on(fd);
    let lp2 = lp.clone();
    let r = lp
        .run_until_complete(async move {
            let b = Async::with_loop(&lp2, b).unwrap();
            a.write_all(b"x").unwrap();
            tulip::timeout(Duration::from_secs(5), b.readable()).await
        })
        .unwrap();
    assert!(matches!(r, Ok(Ok(()))), "readiness on a reused fd number failed: {r:?}");
}

#[test]
fn async_dropped_with_a_reader_closure_is_deregistered() {
    let lp = EventLoop::new().unwrap();

    // Removing the reader drops its closure, which owns an Async.
    let (peer, owned) = UnixStream::pair().unwrap();
    let fd = owned.as_raw_fd();
    let owned = Async::with_loop(&lp, owned).unwrap();
    let (_x, y) = UnixStream::pair().unwrap();
    // SAFETY: the fd stays open until its callback is removed (or the loop closed).
    unsafe {
        lp.add_reader(y.as_raw_fd(), move || {
            let _keep = &owned;
        })
    }
    .unwrap();
    assert!(lp.remove_reader(y.as_raw_fd()));
    drop(peer);
    fd_registers_cleanly(&lp, fd);

    // Replacing the reader drops the old closure the same way.
    let (peer, owned) = UnixStream::pair().unwrap();
    let fd = owned.as_raw_fd();
    let owned = Async::with_loop(&lp, owned).unwrap();
    // SAFETY: the fd stays open until its callback is removed (or the loop closed).
    unsafe {
        lp.add_reader(y.as_raw_fd(), move || {
            let _keep = &owned;
        })
    }
    .unwrap();
    // SAFETY: `y` stays open until its reader is removed below.
    unsafe { lp.add_reader(y.as_raw_fd(), || ()) }.unwrap();
    drop(peer);
    fd_registers_cleanly(&lp, fd);
    assert!(lp.remove_reader(y.as_raw_fd()));
    lp.close().unwrap();
}
