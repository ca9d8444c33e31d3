//! The byte streams between the pool and a worker: tasks go down a Unix stream socket, whose
//! writes from the pool never raise `SIGPIPE`; results come up a pipe.
//!
//! A pipe cannot be written without the risk of `SIGPIPE`: when the reader has just died, the write
//! raises it, and with the signal at its default disposition (which many command-line programs
//! restore, so that `prog | head` ends quietly) the whole program dies with status 141. A socket can:
//! `send` takes `MSG_NOSIGNAL`, and on Apple platforms, which lack that flag, the socket carries
//! `SO_NOSIGPIPE`. The write then fails with `EPIPE`, which the pool handles as the worker's death.
//!
//! Results stay on a pipe: only the worker writes it (a `SIGPIPE` there ends a worker whose pool is
//! gone, which is what it would do anyway), and a worker writes each result on its own, where a pipe
//! write costs markedly less than a socket's (tiny-task throughput halved over a socket). The pipe is
//! 256 KiB on Linux, for fewer wake-ups per batch; one per worker counts against the per-user pipe
//! budget (`/proc/sys/fs/pipe-user-pages-soft`, 64 MiB by default: 256 workers).

use std::ffi::c_int;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The pool's end of a worker's results: the read end of the result pipe.
pub(crate) type WorkerOutput = std::fs::File;
/// The worker's end of its input (tasks from the pool): the socket, on fd 3.
pub(crate) type FromPool = std::fs::File;
/// The worker's end of its output (results to the pool): the pipe, on fd 4.
pub(crate) type ToPool = std::fs::File;

/// Blocks until `input` (non-blocking) has bytes, or its end, to read.
pub(crate) fn wait_readable(input: &FromPool) {
    let mut pfd = libc::pollfd { fd: input.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd; an error returns at once and the caller reads again.
    unsafe { libc::poll(&mut pfd, 1, -1) };
}

/// A pipe whose both ends are close-on-exec (256 KiB on Linux, where the kernel allows it).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    #[cfg(atomic_cloexec)]
    // SAFETY: `fds` has room for the two descriptors.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    #[cfg(not(atomic_cloexec))]
    // SAFETY: as above; the flag is set right after (std's own pipes do the same here).
    let r = unsafe { libc::pipe(fds.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned by nobody else.
    let ends = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(not(atomic_cloexec))]
    set_cloexec(&fds)?;
    raise_pipe(ends.0.as_fd());
    Ok(ends)
}

/// The size of a pipe that carries a stream: a worker's results, or a child's stream once it has
/// carried 1 MiB (see `subprocess`).
#[cfg(target_os = "linux")]
pub(crate) const STREAM_PIPE: c_int = 256 << 10;

/// Raises `end`'s pipe to [`STREAM_PIPE`] on Linux; a refusal (the user's pipe budget,
/// `pipe-max-size`) leaves it as it was. Elsewhere pipes size themselves.
pub(crate) fn raise_pipe(end: BorrowedFd<'_>) {
    #[cfg(target_os = "linux")]
    // SAFETY: F_SETPIPE_SZ on an open pipe end; it changes no memory of ours.
    unsafe {
        libc::fcntl(end.as_raw_fd(), libc::F_SETPIPE_SZ, STREAM_PIPE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = end;
}

/// Sets close-on-exec on new descriptors, where they could not be created with it.
#[cfg(not(atomic_cloexec))]
fn set_cloexec(fds: &[c_int]) -> io::Result<()> {
    for &fd in fds {
        // SAFETY: `fd` was just created and is owned by the caller.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A connected pair of Unix stream sockets, both close-on-exec.
pub(crate) fn socket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    #[cfg(atomic_cloexec)]
    let kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    #[cfg(not(atomic_cloexec))]
    let kind = libc::SOCK_STREAM;
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned by nobody else.
    let pair = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(not(atomic_cloexec))]
    set_cloexec(&fds)?;
    Ok(pair)
}

/// The pool's end of a worker's input: writes go out with `send`, never raising `SIGPIPE`.
#[derive(Debug)]
pub(crate) struct WorkerInput {
    /// A connected stream socket (see [`socket_pair`]); on Apple platforms it carries `SO_NOSIGPIPE`.
    fd: OwnedFd,
}

/// Flags of every `send` to a worker.
#[cfg(not(target_vendor = "apple"))]
const SEND_FLAGS: c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
const SEND_FLAGS: c_int = 0;

impl WorkerInput {
    /// Wraps the pool's end of a [`socket_pair`].
    pub(crate) fn new(fd: OwnedFd) -> io::Result<WorkerInput> {
        #[cfg(target_vendor = "apple")]
        {
            let on: c_int = 1;
            // SAFETY: sets an int option on a socket we own.
            let r = unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_NOSIGPIPE,
                    (&on as *const c_int).cast(),
                    std::mem::size_of::<c_int>() as libc::socklen_t,
                )
            };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(WorkerInput { fd })
    }
}

impl io::Write for WorkerInput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: sends from a live buffer of `buf.len()` bytes on a socket we own.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), SEND_FLAGS) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for WorkerInput {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for WorkerInput {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_write_to_a_closed_peer_is_an_error() {
        // (That it raises no signal either is pinned by tests/process_pool_sigpipe.rs, which can
        // reset SIGPIPE to its default without racing other tests.)
        let (ours, theirs) = socket_pair().unwrap();
        let mut input = WorkerInput::new(ours).unwrap();
        input.write_all(b"hi").unwrap();
        let mut peer = std::fs::File::from(theirs);
        let mut got = [0; 2];
        peer.read_exact(&mut got).unwrap();
        drop(peer);
        // A child another test is spawning may hold a copy of the peer until its exec: wait that out.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let e = loop {
            match input.write_all(b"more") {
                Err(e) => break e,
                Ok(()) if std::time::Instant::now() < until => {
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
                Ok(()) => panic!("writes to a closed peer still succeed after 10 s"),
            }
        };
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }
}
