//! I/O readiness: `add_reader`/`add_writer` callbacks and the [`Async`] wrapper, on `polling`.
//!
//! # Implementation
//!
//! One `Source` per file descriptor holds both kinds of interest: asyncio-style persistent callbacks
//! (one reader and one writer per fd; a new one replaces the old) and the wakers of [`Async`] futures.
//! The poller runs in oneshot mode, so after each event the source is re-armed with whatever interest
//! is left; that keeps callbacks level-triggered as in asyncio (a reader that leaves data unread is
//! called again on the next pass) without asking `polling` for a mode some platforms lack.
//!
//! A reader or writer callback queued for the current pass is skipped if it was removed or replaced
//! meanwhile (an earlier callback of the pass may have closed its fd), as asyncio cancels the handle.
//!
//! Each direction has a tick counter bumped on every readiness event. A readiness future remembers the
//! tick it saw when it first registered and completes once the tick moves, so an event that arrives
//! between registration and the next poll is never missed.
//!
//! `polling`'s rules are kept: a source is deleted from the poller before its fd can close ([`Async`]
//! deregisters in `Drop` before dropping the I/O object), and the event buffer is cleared before every
//! wait (by the loop).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use polling::{Event, Events, Poller};

use super::{try_get_running_loop, EventLoop};
use crate::error::LoopClosed;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    Read,
    Write,
}

/// A persistent reader or writer callback.
pub(crate) struct IoCallback<F: ?Sized = dyn Fn()> {
    /// Turns false when the callback is removed or replaced: an invocation already queued for the
    /// current pass is then skipped, as asyncio's `remove_reader` cancels the queued handle (the fd
    /// may be closed by then).
    active: Cell<bool>,
    f: F,
}

impl IoCallback {
    /// Calls the callback unless it was removed or replaced since it was queued.
    pub(crate) fn call(&self) {
        if self.active.get() {
            (self.f)()
        }
    }
}

fn io_callback<F: Fn() + 'static>(f: F) -> Rc<IoCallback> {
    Rc::new(IoCallback { active: Cell::new(true), f })
}

#[derive(Default)]
struct Source {
    reader: Option<Rc<IoCallback>>,
    writer: Option<Rc<IoCallback>>,
    read_wakers: Vec<Waker>,
    write_wakers: Vec<Waker>,
    read_tick: u64,
    write_tick: u64,
    /// Live [`Async`] wrappers of this fd; the source stays registered while any exists.
    wrappers: usize,
    /// Whether the fd was added to the poller (and must be deleted from it).
    registered: bool,
}

impl Source {
    fn interest(&self) -> (bool, bool) {
        (
            self.reader.is_some() || !self.read_wakers.is_empty(),
            self.writer.is_some() || !self.write_wakers.is_empty(),
        )
    }

    fn unused(&self) -> bool {
        self.reader.is_none() && self.writer.is_none() && self.wrappers == 0
    }

    fn tick(&self, dir: Dir) -> u64 {
        match dir {
            Dir::Read => self.read_tick,
            Dir::Write => self.write_tick,
        }
    }

    fn wakers(&mut self, dir: Dir) -> &mut Vec<Waker> {
        match dir {
            Dir::Read => &mut self.read_wakers,
            Dir::Write => &mut self.write_wakers,
        }
    }

    /// Tells the poller the current interest (adding the fd on first use).
    fn arm(&mut self, poller: &Poller, fd: RawFd) -> io::Result<()> {
        let (r, w) = self.interest();
        let ev = Event::new(fd as usize, r, w);
        if self.registered {
            // SAFETY: the fd is registered, so it is open: it is deleted before it may close.
            poller.modify(unsafe { BorrowedFd::borrow_raw(fd) }, ev)
        } else {
            // SAFETY: deleted in `release`/`remove_*`/`close` before the fd may close (see module doc).
            unsafe { poller.add(fd, ev)? };
            self.registered = true;
            Ok(())
        }
    }
}

/// All sources of a loop.
#[derive(Default)]
pub(crate) struct Sources {
    map: RefCell<HashMap<RawFd, Source>>,
}

impl Sources {
    pub(crate) fn is_empty(&self) -> bool {
        self.map.borrow().is_empty()
    }

    /// Turns poller events into ready callbacks and wakers, and re-arms what is still wanted.
    pub(crate) fn dispatch(
        &self,
        poller: &Poller,
        events: &Events,
        callbacks: &mut Vec<Rc<IoCallback>>,
        wakers: &mut Vec<Waker>,
    ) {
        let mut map = self.map.borrow_mut();
        for ev in events.iter() {
            let fd = ev.key as RawFd;
            let Some(src) = map.get_mut(&fd) else { continue };
            if ev.readable {
                src.read_tick += 1;
                wakers.append(&mut src.read_wakers);
                callbacks.extend(src.reader.clone());
            }
            if ev.writable {
                src.write_tick += 1;
                wakers.append(&mut src.write_wakers);
                callbacks.extend(src.writer.clone());
            }
            if src.registered {
                // Re-arm the oneshot source with the interest that is left (readers and writers
                // persist). A failure means the fd is gone; the next user call reports it.
                let _ = src.arm(poller, fd);
            }
        }
    }

    fn set_callback(
        &self,
        poller: &Poller,
        fd: RawFd,
        dir: Dir,
        cb: Option<Rc<IoCallback>>,
    ) -> io::Result<bool> {
        let mut map = self.map.borrow_mut();
        if cb.is_none() && !map.contains_key(&fd) {
            return Ok(false);
        }
        let src = map.entry(fd).or_default();
        let old = match dir {
            Dir::Read => std::mem::replace(&mut src.reader, cb),
            Dir::Write => std::mem::replace(&mut src.writer, cb),
        };
        if let Some(old) = &old {
            old.active.set(false);
        }
        let result = if src.unused() { Self::forget(&mut map, poller, fd) } else { src.arm(poller, fd) };
        // Could not register: leave no half-registered source behind.
        let rejected = match result {
            Ok(()) => None,
            Err(_) => {
                let (new, unused) = match map.get_mut(&fd) {
                    Some(src) => {
                        let new = match dir {
                            Dir::Read => src.reader.take(),
                            Dir::Write => src.writer.take(),
                        };
                        (new, src.unused())
                    }
                    None => (None, false),
                };
                if unused {
                    let _ = Self::forget(&mut map, poller, fd);
                }
                new
            }
        };
        drop(map);
        // Closures are dropped only once the map is released: dropping one runs user code, and a
        // closure that owns an `Async` must be able to deregister it (else its fd would close while
        // still registered, and a later fd with the same number would inherit the stale source).
        drop(rejected);
        let had_old = old.is_some();
        drop(old);
        result.map(|()| had_old)
    }

    /// Removes an unused source, deleting it from the poller.
    fn forget(map: &mut HashMap<RawFd, Source>, poller: &Poller, fd: RawFd) -> io::Result<()> {
        match map.remove(&fd) {
            // SAFETY: the fd is still open: callers release sources before closing fds.
            Some(src) if src.registered => poller.delete(unsafe { BorrowedFd::borrow_raw(fd) }),
            _ => Ok(()),
        }
    }

    fn acquire(&self, poller: &Poller, fd: RawFd) -> io::Result<()> {
        let mut map = self.map.borrow_mut();
        let src = map.entry(fd).or_default();
        src.wrappers += 1;
        if !src.registered {
            if let Err(e) = src.arm(poller, fd) {
                src.wrappers -= 1;
                if src.unused() {
                    map.remove(&fd);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    fn release(&self, poller: &Poller, fd: RawFd) {
        let Ok(mut map) = self.map.try_borrow_mut() else { return };
        if let Some(src) = map.get_mut(&fd) {
            src.wrappers = src.wrappers.saturating_sub(1);
            if src.unused() {
                let _ = Self::forget(&mut map, poller, fd);
            }
        }
    }

    fn poll_ready(
        &self,
        poller: &Poller,
        fd: RawFd,
        dir: Dir,
        seen: &Cell<Option<u64>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let mut map = self.map.borrow_mut();
        let Some(src) = map.get_mut(&fd) else {
            return Poll::Ready(Err(io::Error::other(LoopClosed)));
        };
        let now = src.tick(dir);
        match seen.get() {
            Some(t) if t != now => {
                seen.set(None);
                return Poll::Ready(Ok(()));
            }
            Some(_) => {}
            None => seen.set(Some(now)),
        }
        let wakers = src.wakers(dir);
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        if let Err(e) = src.arm(poller, fd) {
            return Poll::Ready(Err(e));
        }
        Poll::Pending
    }

    /// Deletes every source from the poller (the loop is closing).
    pub(crate) fn close(&self, poller: &Poller) {
        let map = std::mem::take(&mut *self.map.borrow_mut());
        // Delete every fd first, drop the sources after: dropping a callback may drop an `Async`,
        // which closes its fd, and `polling` requires an fd to be deleted before it closes.
        for (&fd, src) in &map {
            if src.registered {
                // SAFETY: still open: whoever owns it has not released it yet.
                let _ = poller.delete(unsafe { BorrowedFd::borrow_raw(fd) });
            }
        }
        drop(map);
    }
}

impl EventLoop {
    fn set_io_callback(&self, fd: RawFd, dir: Dir, cb: Option<Rc<IoCallback>>) -> io::Result<bool> {
        if self.is_closed() {
            return Err(io::Error::other(LoopClosed));
        }
        self.inner.io.set_callback(&self.inner.shared.poller, fd, dir, cb)
    }

    /// Calls `f` on every pass of the loop in which `fd` is readable (asyncio's `add_reader`).
    ///
    /// One reader per fd: a new one replaces the old. The fd must stay open until
    /// [`remove_reader`](Self::remove_reader) is called (the poller must forget an fd before it
    /// closes). Fails on a closed loop or when the OS refuses the fd.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// let (mut a, b) = UnixStream::pair().unwrap();
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let (lp2, fd) = (lp.clone(), b.as_raw_fd());
    /// lp.add_reader(fd, move || {
    ///     let mut buf = [0; 5];
    ///     (&b).read_exact(&mut buf).unwrap();
    ///     assert_eq!(&buf, b"hello");
    ///     lp2.remove_reader(fd);
    ///     lp2.stop();
    /// }).unwrap();
    /// a.write_all(b"hello").unwrap();
    /// lp.run_forever().unwrap();
    /// ```
    pub fn add_reader<F: Fn() + 'static>(&self, fd: RawFd, f: F) -> io::Result<()> {
        self.set_io_callback(fd, Dir::Read, Some(io_callback(f))).map(drop)
    }

    /// Calls `f` on every pass of the loop in which `fd` is writable (asyncio's `add_writer`).
    ///
    /// Same rules as [`add_reader`](Self::add_reader).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let (lp2, fd) = (lp.clone(), a.as_raw_fd());
    /// lp.add_writer(fd, move || { lp2.remove_writer(fd); lp2.stop(); }).unwrap();
    /// lp.run_forever().unwrap();
    /// ```
    pub fn add_writer<F: Fn() + 'static>(&self, fd: RawFd, f: F) -> io::Result<()> {
        self.set_io_callback(fd, Dir::Write, Some(io_callback(f))).map(drop)
    }

    /// Stops calling the reader of `fd`; returns whether there was one.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// assert!(!lp.remove_reader(0));
    /// ```
    pub fn remove_reader(&self, fd: RawFd) -> bool {
        self.set_io_callback(fd, Dir::Read, None).unwrap_or(false)
    }

    /// Stops calling the writer of `fd`; returns whether there was one.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// assert!(!lp.remove_writer(1));
    /// ```
    pub fn remove_writer(&self, fd: RawFd) -> bool {
        self.set_io_callback(fd, Dir::Write, None).unwrap_or(false)
    }
}

/// An I/O object registered with a loop: async readiness for anything with a file descriptor.
///
/// It puts the fd in non-blocking mode and registers it with the loop; dropping it deregisters the
/// fd before the object (and its fd) is dropped. It implements `futures-io`'s `AsyncRead` and
/// `AsyncWrite` when `&T` implements `Read` and `Write`.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// tulip::run(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     let (a, b) = (tulip::Async::new(a).unwrap(), tulip::Async::new(b).unwrap());
///     a.write_with(|s| (&*s).write(b"ping")).await.unwrap();
///     let mut buf = [0; 4];
///     let n = b.read_with(|s| (&*s).read(&mut buf)).await.unwrap();
///     assert_eq!(&buf[..n], b"ping");
/// });
/// ```
///
/// # Caveats
///
/// An `Async` belongs to the loop it was created on and must be used from that loop's thread. Two
/// `Async` wrappers of the same fd share one registration.
pub struct Async<T: AsFd> {
    /// `None` only inside `into_inner`/`drop`, after deregistration.
    io: Option<T>,
    fd: RawFd,
    lp: EventLoop,
    read_seen: Cell<Option<u64>>,
    write_seen: Cell<Option<u64>>,
}

impl<T: AsFd> Async<T> {
    /// Registers `io` with the loop running on this thread.
    ///
    /// Fails when no loop runs here, or when the fd cannot be made non-blocking or registered.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::Async::new(std::net::TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    ///     assert!(l.get_ref().local_addr().is_ok());
    /// });
    /// ```
    pub fn new(io: T) -> io::Result<Self> {
        match try_get_running_loop() {
            Some(lp) => Self::with_loop(&lp, io),
            None => {
                Err(io::Error::new(io::ErrorKind::NotFound, "tulip::Async::new needs a running event loop"))
            }
        }
    }

    /// Registers `io` with `lp`.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = tulip::Async::with_loop(&lp, a).unwrap();
    /// # drop(a);
    /// ```
    pub fn with_loop(lp: &EventLoop, io: T) -> io::Result<Self> {
        if lp.is_closed() {
            return Err(io::Error::other(LoopClosed));
        }
        let fd = io.as_fd().as_raw_fd();
        set_nonblocking(fd)?;
        lp.inner.io.acquire(&lp.inner.shared.poller, fd)?;
        Ok(Async {
            io: Some(io),
            fd,
            lp: lp.clone(),
            read_seen: Cell::new(None),
            write_seen: Cell::new(None),
        })
    }

    /// The inner I/O object.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let s = tulip::Async::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    ///     s.get_ref().local_addr().unwrap();
    /// });
    /// ```
    pub fn get_ref(&self) -> &T {
        match &self.io {
            Some(io) => io,
            None => unreachable!("the I/O object is present until into_inner or drop"),
        }
    }

    /// The inner I/O object, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut s = tulip::Async::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    ///     s.get_mut().set_ttl(10).unwrap();
    /// });
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        match &mut self.io {
            Some(io) => io,
            None => unreachable!("the I/O object is present until into_inner or drop"),
        }
    }

    /// Deregisters the fd and returns the I/O object (still in non-blocking mode).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let s = tulip::Async::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    ///     let s: std::net::UdpSocket = s.into_inner();
    /// });
    /// ```
    pub fn into_inner(mut self) -> T {
        self.deregister();
        match self.io.take() {
            Some(io) => io,
            None => unreachable!("the I/O object is present until into_inner or drop"),
        }
    }

    fn deregister(&mut self) {
        if self.io.is_some() {
            self.lp.inner.io.release(&self.lp.inner.shared.poller, self.fd);
        }
    }

    fn poll_dir(&self, dir: Dir, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let seen = match dir {
            Dir::Read => &self.read_seen,
            Dir::Write => &self.write_seen,
        };
        self.lp.inner.io.poll_ready(&self.lp.inner.shared.poller, self.fd, dir, seen, cx)
    }

    /// Waits until the fd is readable (or a read would report an error or end of file).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// tulip::run(async {
    ///     let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let b = tulip::Async::new(b).unwrap();
    ///     a.write_all(b"x").unwrap();
    ///     b.readable().await.unwrap();
    /// });
    /// ```
    pub fn readable(&self) -> Readiness<'_, T> {
        Readiness { io: self, dir: Dir::Read, seen: Cell::new(None) }
    }

    /// Waits until the fd is writable.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     tulip::Async::new(a).unwrap().writable().await.unwrap();
    /// });
    /// ```
    pub fn writable(&self) -> Readiness<'_, T> {
        Readiness { io: self, dir: Dir::Write, seen: Cell::new(None) }
    }

    /// Runs the non-blocking operation `op` until it does not report `WouldBlock`, waiting for
    /// readability in between.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// tulip::run(async {
    ///     let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let b = tulip::Async::new(b).unwrap();
    ///     a.write_all(b"hi").unwrap();
    ///     let mut buf = [0; 2];
    ///     b.read_with(|s| (&*s).read_exact(&mut buf)).await.unwrap();
    /// });
    /// ```
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        loop {
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable().await?,
                res => return res,
            }
        }
    }

    /// Runs the non-blocking operation `op` until it does not report `WouldBlock`, waiting for
    /// writability in between.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// tulip::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let a = tulip::Async::new(a).unwrap();
    ///     a.write_with(|s| (&*s).write_all(b"hi")).await.unwrap();
    /// });
    /// ```
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        loop {
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable().await?,
                res => return res,
            }
        }
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        // Deregister first: the poller must forget the fd before `io` closes it.
        self.deregister();
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

impl<T: AsFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

/// A future that completes when an [`Async`]'s fd is ready; from [`Async::readable`] or
/// [`Async::writable`].
#[must_use = "futures do nothing unless polled"]
pub struct Readiness<'a, T: AsFd> {
    io: &'a Async<T>,
    dir: Dir,
    seen: Cell<Option<u64>>,
}

impl<T: AsFd> Future for Readiness<'_, T> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let lp = &self.io.lp.inner;
        lp.io.poll_ready(&lp.shared.poller, self.io.fd, self.dir, &self.seen, cx)
    }
}

impl<T: AsFd> fmt::Debug for Readiness<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness").field("fd", &self.io.fd).field("dir", &self.dir).finish()
    }
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a valid, borrowed fd with integer arguments.
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

/// Retries `op` on `WouldBlock`, waiting for readiness in `dir` (the body of the poll-based traits).
fn poll_io<T: AsFd, R>(
    a: &Async<T>,
    dir: Dir,
    cx: &mut Context<'_>,
    mut op: impl FnMut(&T) -> io::Result<R>,
) -> Poll<io::Result<R>> {
    loop {
        match op(a.get_ref()) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => match a.poll_dir(dir, cx) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            },
            res => return Poll::Ready(res),
        }
    }
}

impl<T: AsFd> futures_io::AsyncRead for Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        poll_io(&self, Dir::Read, cx, |mut io| io.read(buf))
    }
}

impl<T: AsFd> futures_io::AsyncWrite for Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        poll_io(&self, Dir::Write, cx, |mut io| io.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_io(&self, Dir::Write, cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
