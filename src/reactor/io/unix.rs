//! The Unix side of registrations: a source is a file descriptor.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

pub use std::os::fd::{AsFd as AsSource, RawFd as RawSource};

use super::Async;

/// The raw fd of `io`.
pub(super) fn raw_of(io: &impl AsSource) -> RawSource {
    io.as_fd().as_raw_fd()
}

/// The error the OS gives for a number that cannot be an open fd (`BorrowedFd` refuses -1
/// outright), or `None` for a plausible one.
pub(super) fn invalid(fd: RawSource) -> Option<io::Error> {
    (fd < 0).then(|| io::Error::from_raw_os_error(libc::EBADF))
}

/// Borrows a registered fd.
///
/// # Safety
///
/// `fd` must be open for the returned lifetime.
pub(super) unsafe fn borrow<'a>(fd: RawSource) -> BorrowedFd<'a> {
    BorrowedFd::borrow_raw(fd)
}

/// Puts `io`'s fd in non-blocking mode (`O_NONBLOCK`), unless it is already.
pub(super) fn set_nonblocking(io: &impl AsSource) -> io::Result<()> {
    let fd = raw_of(io);
    // SAFETY: fcntl on a borrowed (open) fd with integer arguments.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        if flags & libc::O_NONBLOCK == 0 && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

impl<T: AsSource> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawSource {
        self.raw_source()
    }
}
