//! The Windows side of `net`: sockets made with Winsock, and the raw-socket access of the stream and
//! listener.
//!
//! Sockets are made non-inheritable (`WSA_FLAG_NO_HANDLE_INHERIT`, as std makes them) and
//! non-blocking; listeners get no `SO_REUSEADDR`, which on Windows would let another socket take the
//! port over (asyncio sets it on Unix only, for the same reason).

use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener, TcpStream as StdTcpStream};
use std::os::windows::io::{AsRawSocket, FromRawSocket, OwnedSocket, RawSocket};

use windows_sys::Win32::Networking::WinSock as ws;

use super::{TcpListener, TcpStream};
use crate::dns::sys::{startup, std_to_sockaddr};

/// The raw socket of a std socket (for `Debug`).
pub(super) fn raw(io: &impl AsRawSocket) -> RawSocket {
    io.as_raw_socket()
}

/// Whether `e` says the system lacks the address family (IPv6 switched off).
pub(super) fn family_unsupported(e: &io::Error) -> bool {
    e.raw_os_error() == Some(ws::WSAEAFNOSUPPORT)
}

/// The error of the Winsock call that just failed on this thread.
fn last_error() -> io::Error {
    // SAFETY: reads this thread's last Winsock error; no other call ran since the failing one.
    io::Error::from_raw_os_error(unsafe { ws::WSAGetLastError() })
}

/// A new TCP socket for `addr`'s family: non-blocking and non-inheritable from the start.
pub(super) fn new_socket(addr: &SocketAddr) -> io::Result<OwnedSocket> {
    startup();
    let family = match addr {
        SocketAddr::V4(_) => ws::AF_INET,
        SocketAddr::V6(_) => ws::AF_INET6,
    };
    let flags = ws::WSA_FLAG_OVERLAPPED | ws::WSA_FLAG_NO_HANDLE_INHERIT;
    // SAFETY: WSASocketW with constant arguments and no protocol info; the result is checked.
    let raw = unsafe { ws::WSASocketW(family.into(), ws::SOCK_STREAM, 0, std::ptr::null(), 0, flags) };
    if raw == ws::INVALID_SOCKET {
        return Err(last_error());
    }
    // SAFETY: `raw` was just returned by WSASocketW and is owned by nobody else.
    let socket = unsafe { OwnedSocket::from_raw_socket(raw as RawSocket) };
    let mut on: u32 = 1;
    // SAFETY: ioctlsocket on the socket owned above with a pointer to a live u32.
    if unsafe { ws::ioctlsocket(raw, ws::FIONBIO, &mut on) } != 0 {
        return Err(last_error());
    }
    Ok(socket)
}

/// Starts connecting `stream` to `addr`; returns whether the connection is still in progress (the
/// socket turns writable when it is made, or reports the failure as writable too: AFD's
/// `CONNECT_FAIL`, which `polling` counts as a write event).
pub(super) fn start_connect(stream: &StdTcpStream, addr: &SocketAddr) -> io::Result<bool> {
    let (sa, len) = std_to_sockaddr(addr);
    let socket = stream.as_raw_socket() as ws::SOCKET;
    // SAFETY: `sa` holds a valid SOCKADDR of `len` bytes; the socket is open.
    if unsafe { ws::connect(socket, (&sa as *const ws::SOCKADDR_STORAGE).cast(), len) } == 0 {
        return Ok(false);
    }
    let e = last_error();
    match e.raw_os_error() {
        Some(ws::WSAEWOULDBLOCK) | Some(ws::WSAEINPROGRESS) => Ok(true),
        _ => Err(e),
    }
}

/// A listening socket on `addr`, as asyncio's `create_server` makes it on Windows: IPv6-only for
/// IPv6, non-blocking and non-inheritable.
pub(super) fn listen_on(addr: SocketAddr) -> io::Result<StdTcpListener> {
    let socket = new_socket(&addr)?;
    let raw = socket.as_raw_socket() as ws::SOCKET;
    if addr.is_ipv6() {
        let one: u32 = 1;
        let len = std::mem::size_of::<u32>() as i32;
        // SAFETY: setsockopt on the socket owned above with a pointer to a live u32 of `len` bytes.
        let rc = unsafe {
            ws::setsockopt(raw, ws::IPPROTO_IPV6, ws::IPV6_V6ONLY, (&one as *const u32).cast(), len)
        };
        if rc != 0 {
            return Err(last_error());
        }
    }
    let (sa, len) = std_to_sockaddr(&addr);
    // SAFETY: `sa` holds a valid SOCKADDR of `len` bytes; the socket is open.
    if unsafe { ws::bind(raw, (&sa as *const ws::SOCKADDR_STORAGE).cast(), len) } != 0 {
        return Err(last_error());
    }
    // Winsock 2's SOMAXCONN (`0x7fffffff`: the provider's largest backlog); windows-sys exports
    // Winsock 1's value.
    // SAFETY: listen on the socket owned above.
    if unsafe { ws::listen(raw, i32::MAX) } != 0 {
        return Err(last_error());
    }
    Ok(StdTcpListener::from(socket))
}

impl AsRawSocket for TcpStream {
    fn as_raw_socket(&self) -> RawSocket {
        self.get_ref().as_raw_socket()
    }
}

/// The socket of the first listener.
impl AsRawSocket for TcpListener {
    fn as_raw_socket(&self) -> RawSocket {
        self.get_ref().as_raw_socket()
    }
}
