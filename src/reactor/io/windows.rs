//! The Windows side of registrations: a source is a socket (`polling` waits on sockets only, through
//! AFD; pipes, consoles and files have no readiness to wait for).

use std::io;
use std::os::windows::io::{AsRawSocket, BorrowedSocket};

pub use std::os::windows::io::{AsSocket as AsSource, RawSocket as RawSource};

use windows_sys::Win32::Networking::WinSock::{ioctlsocket, FIONBIO, INVALID_SOCKET, WSAENOTSOCK};

use super::Async;

/// The raw socket of `io`.
pub(super) fn raw_of(io: &impl AsSource) -> RawSource {
    io.as_socket().as_raw_socket()
}

/// The error Winsock gives for `INVALID_SOCKET` (which `BorrowedSocket` refuses outright), or `None`
/// for a plausible socket.
pub(super) fn invalid(socket: RawSource) -> Option<io::Error> {
    (socket == INVALID_SOCKET as RawSource).then(|| io::Error::from_raw_os_error(WSAENOTSOCK))
}

/// Borrows a registered socket.
///
/// # Safety
///
/// `socket` must be open for the returned lifetime.
pub(super) unsafe fn borrow<'a>(socket: RawSource) -> BorrowedSocket<'a> {
    BorrowedSocket::borrow_raw(socket)
}

/// Puts `io`'s socket in non-blocking mode (`FIONBIO`).
pub(super) fn set_nonblocking(io: &impl AsSource) -> io::Result<()> {
    let mut on: u32 = 1;
    // SAFETY: ioctlsocket on a borrowed (open) socket with a pointer to a live u32.
    if unsafe { ioctlsocket(raw_of(io) as usize, FIONBIO, &mut on) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl<T: AsSource> AsRawSocket for Async<T> {
    fn as_raw_socket(&self) -> RawSource {
        self.raw_source()
    }
}
