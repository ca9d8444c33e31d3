#![allow(dead_code, unused_imports)] // each test target uses a different subset of these helpers
//! Connected socket pairs and raw handles the same way on Unix and Windows, so that the readiness
//! tests run on both.
//!
//! On Unix these are std's `UnixStream` and `AsRawFd`. Windows has no socket pairs in std and no
//! fds: there `UnixStream` is a TCP loopback connection (`UnixStream::pair()` through the [`Pair`]
//! trait) and `as_raw_fd()` gives the raw socket, which is what `add_reader` takes there.
//! Test files import them with `use pair::*;`.

#[cfg(unix)]
pub use std::os::fd::AsRawFd;
#[cfg(unix)]
pub use std::os::unix::net::UnixStream;

#[cfg(windows)]
pub use std::net::TcpStream as UnixStream;

/// `UnixStream::pair()` on Windows: a TCP connection over loopback.
#[cfg(windows)]
pub trait Pair: Sized {
    fn pair() -> std::io::Result<(Self, Self)>;
}

#[cfg(windows)]
impl Pair for std::net::TcpStream {
    fn pair() -> std::io::Result<(Self, Self)> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let a = std::net::TcpStream::connect(listener.local_addr()?)?;
        let (b, _) = listener.accept()?;
        // Small writes must not wait for Nagle's timer.
        a.set_nodelay(true)?;
        b.set_nodelay(true)?;
        Ok((a, b))
    }
}

/// `as_raw_fd()` on Windows: the raw socket.
#[cfg(windows)]
pub trait AsRawFd {
    fn as_raw_fd(&self) -> std::os::windows::io::RawSocket;
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsRawSocket> AsRawFd for T {
    fn as_raw_fd(&self) -> std::os::windows::io::RawSocket {
        self.as_raw_socket()
    }
}
