use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tulip::subprocess::{Command, Stdio};

const RAISED: i32 = 256 << 10;

/// The size of the pipe behind `fd`.
fn pipe_size(fd: &impl AsRawFd) -> i32 {
    // SAFETY: F_GETPIPE_SZ reads a property of a descriptor the caller holds.
    let size = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ) };
    assert!(size > 0, "F_GETPIPE_SZ: {}", std::io::Error::last_os_error());
    size
}

/// A fresh pipe's size, and whether this process may raise a pipe to `RAISED` (limits allow).
fn fresh_pipe() -> (i32, bool) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills `fds` with two new descriptors, owned right after.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: as above; each is owned once.
    let (r, _w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let default = pipe_size(&r);
    // SAFETY: F_SETPIPE_SZ on the pipe just made.
    let can = unsafe { libc::fcntl(r.as_raw_fd(), libc::F_SETPIPE_SZ, RAISED) } >= RAISED;
    (default, can)
}

#[test]
fn a_stream_through_cat_raises_both_pipes() {
    if !fresh_pipe().1 {
        gate::skip("this process may not raise a pipe to 256 KiB (pipe-max-size or pipe budget)");
        return;
    }
    const TOTAL: usize = 4 << 20;
    let (stdin_size, stdout_size) = tulip::run(async {
        let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let (mut w, mut r) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
        let write = async move {
            let chunk = vec![7u8; 64 << 10];
            for _ in 0..TOTAL / chunk.len() {
                w.write_all(&chunk).await.unwrap();
            }
            pipe_size(&w)
        };
        let read = async move {
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            assert_eq!(got.len(), TOTAL, "cat gave back what it was given");
            pipe_size(&r)
        };
        // A generous liveness bound: a lost wakeup would hang forever.
        let sizes = tulip::timeout(Duration::from_secs(60), futures_lite::future::zip(write, read))
            .await
            .expect("4 MiB through cat in a minute");
        assert!(child.wait().await.unwrap().success());
        sizes
    });
    assert!(stdin_size >= RAISED, "stdin's pipe is {stdin_size} bytes after 4 MiB");
    assert!(stdout_size >= RAISED, "stdout's pipe is {stdout_size} bytes after 4 MiB");
}

#[test]
fn a_pipe_that_carries_little_keeps_the_default_size() {
    let default = fresh_pipe().0;
    let size = tulip::run(async {
        let mut child = Command::new("echo").arg("hello").stdout(Stdio::piped()).spawn().unwrap();
        let mut r = child.stdout.take().unwrap();
        let mut out = String::new();
        r.read_to_string(&mut out).await.unwrap();
        assert_eq!(out, "hello\n");
        assert!(child.wait().await.unwrap().success());
        pipe_size(&r)
    });
    assert_eq!(size, default, "a pipe that carried 6 bytes keeps the default size");
}
