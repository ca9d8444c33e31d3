use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use tulip::{Async, EventLoop};

/// A fresh socket pair whose second end has exactly the number `fd` (which must be free).
fn pair_on(fd: RawFd) -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    if b.as_raw_fd() == fd {
        return (a, b);
    }
    if a.as_raw_fd() == fd {
        return (b, a); // a socket pair is symmetric
    }
    // SAFETY: dup2 onto a number this test owns and just saw closed; the result is owned below.
    let r = unsafe { libc::dup2(b.as_raw_fd(), fd) };
    assert_eq!(r, fd, "dup2: {}", std::io::Error::last_os_error());
    drop(b);
    // SAFETY: `fd` is now an open socket that nothing else owns.
    (a, UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

#[test]
fn an_async_on_a_reused_fd_number_gets_its_own_readiness() {
    let lp = EventLoop::new().unwrap();
    let (_peer, closed) = UnixStream::pair().unwrap();
    let fd = closed.as_raw_fd();
    // SAFETY: broken on purpose below (see the module doc): `closed` is dropped with its reader set.
    unsafe { lp.add_reader(fd, || panic!("a reader of a closed fd was called")) }.unwrap();
    drop(closed);

    let (mut a, b) = pair_on(fd);
    let lp2 = lp.clone();
    let r = lp
        .run_until_complete(async move {
            let b = Async::with_loop(&lp2, b)?;
            a.write_all(b"x")?;
            tulip::timeout(Duration::from_secs(5), b.readable()).await.map_err(io::Error::other)??;
            // The stale reader is gone: removing it is a no-op that leaves `b` registered.
            assert!(!lp2.remove_reader(fd), "the stale reader was still listed");
            let mut byte = [0; 1];
            b.read_with(|s| (&*s).read(&mut byte)).await?;
            a.write_all(b"y")?;
            tulip::timeout(Duration::from_secs(5), b.readable()).await.map_err(io::Error::other)?
        })
        .unwrap();
    assert!(r.is_ok(), "readiness on a reused fd number failed: {r:?}");
    lp.close().unwrap();
}
