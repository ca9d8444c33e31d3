//! The Unix side of `net`: sockets made with libc, and the raw-fd access of the stream and listener.

use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener, TcpStream as StdTcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::{TcpListener, TcpStream};
use crate::dns::sys::std_to_sockaddr;

/// The raw fd of a std socket (for `Debug`).
pub(super) fn raw(io: &impl AsRawFd) -> RawFd {
    io.as_raw_fd()
}

/// Whether `e` says the system lacks the address family (IPv6 compiled out).
pub(super) fn family_unsupported(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EAFNOSUPPORT)
}

/// A new TCP socket for `addr`'s family: non-blocking and close-on-exec from the start.
pub(super) fn new_socket(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let domain = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    #[cfg(atomic_cloexec)]
    let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    #[cfg(not(atomic_cloexec))]
    let ty = libc::SOCK_STREAM;

    // SAFETY: socket(2) with constant arguments; the result is checked before use.
    let fd = unsafe { libc::socket(domain, ty, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };

    #[cfg(not(atomic_cloexec))]
    // SAFETY: fcntl/setsockopt on the fd owned above, with integer arguments.
    unsafe {
        // No atomic flags here: set them right away (a fork in between could leak the fd; the
        // platforms concerned offer nothing better).
        if libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
        #[cfg(any(target_os = "macos", target_os = "ios"))]
        {
            // Writing to a closed peer must report EPIPE, not kill the process with SIGPIPE.
            let one: libc::c_int = 1;
            if libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_NOSIGPIPE,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) < 0
            {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(fd)
}

/// Starts connecting `stream` to `addr`; returns whether the connection is still in progress (the
/// socket turns writable when it is made or has failed).
pub(super) fn start_connect(stream: &StdTcpStream, addr: &SocketAddr) -> io::Result<bool> {
    let (sa, len) = std_to_sockaddr(addr);
    // SAFETY: `sa` holds a valid sockaddr of `len` bytes; the fd is open.
    let rc = unsafe { libc::connect(stream.as_raw_fd(), (&sa as *const libc::sockaddr_storage).cast(), len) };
    if rc == 0 {
        return Ok(false);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        // EINTR: the connection goes on asynchronously, as with EINPROGRESS.
        Some(libc::EINPROGRESS) | Some(libc::EINTR) => Ok(true),
        _ => Err(e),
    }
}

/// A listening socket on `addr`, as asyncio's `create_server` makes it: `SO_REUSEADDR`, IPv6-only
/// for IPv6, non-blocking and close-on-exec.
pub(super) fn listen_on(addr: SocketAddr) -> io::Result<StdTcpListener> {
    let fd = new_socket(&addr)?;
    let one: libc::c_int = 1;
    let mut options = vec![(libc::SOL_SOCKET, libc::SO_REUSEADDR)];
    if addr.is_ipv6() {
        options.push((libc::IPPROTO_IPV6, libc::IPV6_V6ONLY));
    }
    for (level, name) in options {
        let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: setsockopt on the fd owned above with a pointer to a live c_int of `len` bytes.
        if unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (&one as *const libc::c_int).cast(), len) }
            < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    let (sa, len) = std_to_sockaddr(&addr);
    // SAFETY: `sa` holds a valid sockaddr of `len` bytes; the fd is open.
    if unsafe { libc::bind(fd.as_raw_fd(), (&sa as *const libc::sockaddr_storage).cast(), len) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: listen(2) on the fd owned above.
    if unsafe { libc::listen(fd.as_raw_fd(), libc::SOMAXCONN) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(StdTcpListener::from(fd))
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

/// The fd of the first socket.
impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}
