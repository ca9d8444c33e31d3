//! [`TcpStream`] and [`TcpListener`].

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener as StdTcpListener, TcpStream as StdTcpStream};
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::happy::{self, HAPPY_EYEBALLS_DELAY};
use super::sys;
use crate::dns::{self, Hints};
use crate::{Async, EventLoop};

/// The running loop, or an error naming the operation that needs one.
fn running_loop(what: &str) -> io::Result<EventLoop> {
    crate::try_get_running_loop().ok_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("{what} needs a running tulip event loop"))
    })
}

/// Resolves `host:port` for TCP on the DNS lane.
async fn resolve(host: &str, port: u16, flags: i32) -> io::Result<Vec<SocketAddr>> {
    let hints = Hints::default().socktype(dns::SOCK_STREAM).flags(flags);
    let answers = dns::getaddrinfo(host, port, hints).await?;
    Ok(answers.into_iter().map(|a| a.addr).collect())
}

/// A TCP connection registered with a loop.
///
/// It implements `futures-io`'s `AsyncRead` and `AsyncWrite`; closing it (`poll_close`) shuts the
/// write half down, so the peer reads end of file.
///
/// # Examples
///
/// ```
/// use futures_lite::AsyncWriteExt;
/// tulip::run(async {
///     let listener = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let mut stream = tulip::net::TcpStream::connect_addr(addr).await.unwrap();
///     stream.write_all(b"hi").await.unwrap();
///     assert_eq!(stream.peer_addr().unwrap(), addr);
/// });
/// ```
pub struct TcpStream {
    inner: Async<StdTcpStream>,
}

impl TcpStream {
    /// Resolves `host` on the DNS lane and connects to one of its addresses, with Happy Eyeballs
    /// (RFC 8305) when there are several; see the [module docs](crate::net).
    ///
    /// Neither step blocks the loop. Resolution failures come back as an [`io::Error`] whose inner
    /// error is the [`DnsError`](crate::DnsError) (`e.get_ref()` and downcast); connection failures as
    /// the OS reports them (`ConnectionRefused` for a closed port), with the address in the message.
    ///
    /// Fails with `NotFound` when no tulip loop runs on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let listener = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
    ///     let port = listener.local_addr().unwrap().port();
    ///     let stream = tulip::net::TcpStream::connect("localhost", port).await.unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap().port(), port);
    /// });
    /// ```
    pub async fn connect(host: &str, port: u16) -> io::Result<TcpStream> {
        let lp = running_loop("tulip::net::TcpStream::connect")?;
        let addrs = happy::interleave(resolve(host, port, 0).await?);
        let what = format!("connecting to {host}:{port}");
        let inner = happy::race(&lp, &what, addrs, HAPPY_EYEBALLS_DELAY).await?;
        Ok(TcpStream { inner })
    }

    /// Connects to `addr` without resolving anything.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     // Port 1 on loopback is closed in any sane test environment.
    ///     let err = tulip::net::TcpStream::connect_addr("127.0.0.1:1".parse().unwrap()).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    /// });
    /// ```
    pub async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let lp = running_loop("tulip::net::TcpStream::connect_addr")?;
        let inner = happy::connect_addr(lp, addr).await?;
        Ok(TcpStream { inner })
    }

    /// Registers a connected std stream with the running loop (putting it in non-blocking mode).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let s = tulip::net::TcpStream::from_std(s).unwrap();
    ///     assert!(s.local_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(stream: StdTcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream { inner: Async::new(stream)? })
    }

    /// The local address of the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
    ///     let s = tulip::net::TcpStream::connect_addr(l.local_addr().unwrap()).await.unwrap();
    ///     assert!(s.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The address of the peer.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
    ///     let s = tulip::net::TcpStream::connect_addr(l.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Sets `TCP_NODELAY` (Nagle's algorithm off when `true`).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
    ///     let s = tulip::net::TcpStream::connect_addr(l.local_addr().unwrap()).await.unwrap();
    ///     s.set_nodelay(true).unwrap();
    ///     assert!(s.nodelay().unwrap());
    /// });
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
    ///     let s = tulip::net::TcpStream::connect_addr(l.local_addr().unwrap()).await.unwrap();
    ///     let _ = s.nodelay().unwrap();
    /// });
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// Shuts the read half, the write half, or both down.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
    ///     let s = tulip::net::TcpStream::connect_addr(l.local_addr().unwrap()).await.unwrap();
    ///     s.shutdown(std::net::Shutdown::Write).unwrap();
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The std stream inside (in non-blocking mode).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
    ///     let s = tulip::net::TcpStream::connect_addr(l.local_addr().unwrap()).await.unwrap();
    ///     s.get_ref().set_ttl(32).unwrap();
    /// });
    /// ```
    pub fn get_ref(&self) -> &StdTcpStream {
        self.inner.get_ref()
    }

    /// Deregisters the stream from its loop and returns the std stream (still non-blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
    ///     let s = tulip::net::TcpStream::connect_addr(l.local_addr().unwrap()).await.unwrap();
    ///     let std_stream: std::net::TcpStream = s.into_std();
    /// });
    /// ```
    pub fn into_std(self) -> StdTcpStream {
        self.inner.into_inner()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &sys::raw(self.get_ref()))
            .finish()
    }
}

#[cfg(all(unix, feature = "hyper"))]
impl TcpStream {
    /// Reads into `buf`, which may be uninitialized, without zeroing it first: `recv` writes the
    /// bytes it returns (hyper hands an uninitialized buffer of 8 KiB or more to every read).
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        use std::os::fd::AsRawFd;
        self.inner.poll_read_stream(cx, buf.len(), |s| {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes; `recv` writes at most that.
            let n = unsafe { libc::recv(s.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            usize::try_from(n).map_err(|_| io::Error::last_os_error())
        })
    }
}

impl futures_io::AsyncRead for TcpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.inner.poll_read_stream(cx, len, |mut s| s.read(buf))
    }
}

impl futures_io::AsyncWrite for TcpStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_write_stream(cx, buf.len(), |mut s| s.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Nothing is buffered here, and a short write before must not make a flush wait.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // TCP writes are not buffered here, so closing is shutting the write half down: the peer
        // reads end of file. A peer that is already gone is not an error for a close.
        match self.inner.get_ref().shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            r => Poll::Ready(r),
        }
    }
}

/// TCP listening sockets registered with a loop: one per address the host resolved to.
///
/// [`accept`](Self::accept) takes the next connection from whichever socket has one, as asyncio's
/// `create_server` serves every address it bound.
///
/// # Examples
///
/// ```
/// tulip::run(async {
///     let listener = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = tulip::get_running_loop().spawn(tulip::net::TcpStream::connect_addr(addr));
///     let (_conn, peer) = listener.accept().await.unwrap();
///     assert_eq!(peer, client.await.unwrap().unwrap().local_addr().unwrap());
/// });
/// ```
pub struct TcpListener {
    /// One socket per bound address; never empty.
    inner: Vec<Async<StdTcpListener>>,
    /// The socket `accept` looks at first, moved past the one that gave the last connection so that
    /// no address is always served last.
    next: Cell<usize>,
}

/// How many times [`TcpListener::bind`] picks a new free port when the one the first address got
/// is taken on another address.
const PORT_ATTEMPTS: usize = 8;

impl TcpListener {
    /// Resolves `host` (with `AI_PASSIVE`; an empty host means every local address) and listens on
    /// every address it resolves to, as asyncio's `create_server` does; IPv6 sockets are IPv6-only,
    /// so `::` and `0.0.0.0` can be bound side by side. Port 0 picks one free port for all of them
    /// ([`local_addrs`](Self::local_addrs) tells which).
    ///
    /// Fails if any address cannot be bound (the error names it), as asyncio does; an address of a
    /// family the system does not support (IPv6 compiled out) is skipped, as asyncio skips it.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind("localhost", 0).await.unwrap();
    ///     assert!(l.local_addrs().unwrap().iter().all(|a| a.ip().is_loopback()));
    /// });
    /// ```
    pub async fn bind(host: &str, port: u16) -> io::Result<TcpListener> {
        let lp = running_loop("tulip::net::TcpListener::bind")?;
        let mut addrs = resolve(host, port, dns::AI_PASSIVE).await?;
        let mut seen = std::collections::HashSet::new();
        addrs.retain(|a| seen.insert(*a));
        if addrs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("binding {host}:{port}: no TCP address"),
            ));
        }
        let mut attempt = 1;
        loop {
            match bind_all(&lp, &addrs) {
                Ok(inner) => return Ok(TcpListener { inner, next: Cell::new(0) }),
                // The port the first address got was taken on another: try another free port.
                Err((_, e))
                    if port == 0 && e.kind() == io::ErrorKind::AddrInUse && attempt < PORT_ATTEMPTS =>
                {
                    attempt += 1
                }
                Err((addr, e)) => {
                    return Err(io::Error::new(e.kind(), format!("binding {host}:{port}: {addr}: {e}")))
                }
            }
        }
    }

    /// Listens on `addr` without resolving anything.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind_addr("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     assert_ne!(l.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    pub fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        running_loop("tulip::net::TcpListener::bind_addr")?;
        TcpListener::from_std(StdTcpListener::bind(addr)?)
    }

    /// Registers a std listener with the running loop (putting it in non-blocking mode).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let l = tulip::net::TcpListener::from_std(l).unwrap();
    /// });
    /// ```
    pub fn from_std(listener: StdTcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener { inner: vec![Async::new(listener)?], next: Cell::new(0) })
    }

    /// Waits for the next connection on any of the sockets and returns it with the peer's address.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
    ///     let _c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (conn, peer) = l.accept().await.unwrap();
    ///     assert_eq!(conn.peer_addr().unwrap(), peer);
    /// });
    /// ```
    #[track_caller]
    pub fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + '_ {
        let caller = Location::caller();
        async move {
            let (stream, peer) = std::future::poll_fn(|cx| self.poll_accept(caller, cx)).await?;
            // Registered with the loop this runs on: the one the listener belongs to.
            let inner = Async::new(stream)?;
            Ok((TcpStream { inner }, peer))
        }
    }

    fn poll_accept(
        &self,
        caller: &'static Location<'static>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(StdTcpStream, SocketAddr)>> {
        let n = self.inner.len();
        for k in 0..n {
            let i = (self.next.get() + k) % n;
            if let Poll::Ready(r) = self.inner[i].poll_read_with(caller, cx, |l| l.accept()) {
                self.next.set((i + 1) % n);
                return Poll::Ready(r);
            }
        }
        Poll::Pending
    }

    /// The address of the first socket (the only one unless [`bind`](Self::bind) resolved several).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
    ///     assert!(l.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.first().local_addr()
    }

    /// The addresses of every socket, in the order the resolver gave them.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind("", 0).await.unwrap();
    ///     let addrs = l.local_addrs().unwrap();
    ///     assert!(addrs.iter().all(|a| a.ip().is_unspecified() && a.port() == addrs[0].port()));
    /// });
    /// ```
    pub fn local_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        self.inner.iter().map(|l| l.get_ref().local_addr()).collect()
    }

    /// The first std listener inside (in non-blocking mode).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
    ///     l.get_ref().set_ttl(64).unwrap();
    /// });
    /// ```
    pub fn get_ref(&self) -> &StdTcpListener {
        self.first()
    }

    fn first(&self) -> &StdTcpListener {
        match self.inner.first() {
            Some(l) => l.get_ref(),
            None => unreachable!("a listener has at least one socket"),
        }
    }
}

/// Binds and registers one listening socket per address; the first one's port is used for the rest
/// when the port asked for is 0. On failure, the address that failed (the sockets bound so far are
/// closed on return). An address of a family the system lacks is skipped, as asyncio skips it.
fn bind_all(
    lp: &EventLoop,
    addrs: &[SocketAddr],
) -> Result<Vec<Async<StdTcpListener>>, (SocketAddr, io::Error)> {
    let mut bound: Vec<Async<StdTcpListener>> = Vec::with_capacity(addrs.len());
    let mut skipped = None;
    for &addr in addrs {
        let mut addr = addr;
        if let Some(first) = bound.first() {
            addr.set_port(first.get_ref().local_addr().map_err(|e| (addr, e))?.port());
        }
        match sys::listen_on(addr).and_then(|l| Async::with_loop(lp, l)) {
            Ok(listener) => bound.push(listener),
            Err(e) if sys::family_unsupported(&e) => skipped = Some((addr, e)),
            Err(e) => return Err((addr, e)),
        }
    }
    match skipped {
        Some(failure) if bound.is_empty() => Err(failure),
        _ => Ok(bound),
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local_addrs().ok())
            .field("fd", &sys::raw(self.get_ref()))
            .finish()
    }
}
