//! The Windows side of registrations: a source is a socket (`polling` waits on sockets only, through
//! AFD; pipes, consoles and files have no readiness to wait for).

use std::io;
use std::os::windows::io::{AsRawSocket, BorrowedSocket};

pub use std::os::windows::io::{AsSocket as AsSource, RawSocket as RawSource};

use windows_sys::Win32::Networking::WinSock::{
    getsockopt, ioctlsocket, WSAGetLastError, FIONBIO, INVALID_SOCKET, SOL_SOCKET, SO_TYPE, WSAENOTSOCK,
};

use super::Async;

/// The raw socket of `io`.
pub(super) fn raw_of(io: &impl AsSource) -> RawSource {
    io.as_socket().as_raw_socket()
}

/// The error Winsock gives for a handle that is not an open socket, or `None` for a socket.
///
/// Asked explicitly (`SO_TYPE`): `polling` would accept any number and only fail later, and only
/// sockets have readiness here. `INVALID_SOCKET` is refused without a call (`BorrowedSocket` refuses
/// it outright).
pub(super) fn invalid(socket: RawSource) -> Option<io::Error> {
    if socket == INVALID_SOCKET as RawSource {
        return Some(io::Error::from_raw_os_error(WSAENOTSOCK));
    }
    let mut ty: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as i32;
    // SAFETY: getsockopt with a pointer to a live i32 of `len` bytes; a handle that is not a socket
    // is an error, not undefined behaviour.
    let rc =
        unsafe { getsockopt(socket as usize, SOL_SOCKET, SO_TYPE, (&mut ty as *mut i32).cast(), &mut len) };
    // SAFETY: reads this thread's last Winsock error, set by the call above.
    (rc != 0).then(|| io::Error::from_raw_os_error(unsafe { WSAGetLastError() }))
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
