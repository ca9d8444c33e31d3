//! I/O readiness: `add_reader`/`add_writer` callbacks and the [`Async`] wrapper, on the OS poller
//! (`crate::poller`).
//!
//! # Implementation
//!
//! `source` keeps the registrations, `wrapper` is [`Async`] and its futures; the asyncio-style
//! callback API is here.
//!
//! A `Source` is one registration with the poller: a file descriptor with its asyncio-style
//! persistent callbacks (one reader and one writer; a new one replaces the old) and the wakers of the
//! [`Async`] futures waiting on it. Sources live in a slab and the poller knows them by slab key, never
//! by fd number, as in async-io: an event is delivered to the registration it was meant for even when
//! an fd number has been closed and reused meanwhile.
//!
//! I/O safety holds by construction: an fd stays open while its source is registered, because an
//! [`Async`] owns its I/O object (and hands it out mutably only through `unsafe`
//! [`Async::get_mut`]), and [`EventLoop::add_reader`]/[`add_writer`](EventLoop::add_writer) are
//! `unsafe` with that promise as their contract. Registering asks the OS first: an `EEXIST` answer
//! means this open fd is registered here already (a reader and an `Async` of one socket share one
//! source); success on a number the loop still lists means the old fd was closed under its
//! registration, and that stale source is dropped rather than handed to the newcomer.
//!
//! Each source remembers what the poller watches (`armed`). A source with a callback is watched in
//! oneshot mode: an event disarms it, and it is re-armed at once only for the interest left
//! (persistent callbacks, or waiters of the other direction), otherwise by the next future that has
//! to wait. That keeps callbacks level-triggered as in asyncio (a reader that leaves data unread is
//! called again on the next pass). A source that only futures wait on is watched edge-triggered in
//! both directions where the poller can (not on Windows), as tokio does: a wait that follows a
//! `WouldBlock` needs no `epoll_ctl` at all, since new readiness comes as a new event. A wait that
//! did not see `WouldBlock` (`readable()`, `writable()`) asks the poller once to report readiness
//! already there, which a taken event would otherwise hide.
//!
//! A reader or writer callback queued for the current pass is skipped if it was removed or replaced
//! meanwhile (an earlier callback of the pass may have closed its fd), as asyncio cancels the handle.
//!
//! Each direction has a tick counter bumped on every readiness event. A readiness future remembers the
//! tick it saw when it first registered and completes once the tick moves, so an event that arrives
//! between registration and the next poll is never missed. Each waiting future owns one waker slot,
//! freed when the future is dropped; a slot keeps one waker, replaced when the task's waker changes
//! (checked with `will_wake`), so stale wakers never pile up.
//!
//! On Linux and Android a byte stream's operation (TCP, a Unix stream, a pipe:
//! `poll_read_stream`, `poll_write_stream`) that moves fewer bytes than asked for counts as finding
//! it not ready: the kernel stops such a read early only on an empty queue and such a write only on
//! a full buffer, and every later arrival or freed space is a new epoll event, so the next poll
//! waits for that event instead of making the call that would report `WouldBlock` (tokio does the
//! same on epoll and kqueue). Not once an event reported a hang-up (`EPOLLRDHUP`, `EPOLLHUP`, an
//! error): the end of file or the error is still to be seen then, and no new event would announce
//! it. It is not done for `Async<T>` in general: a datagram socket, a terminal in canonical mode or
//! an inotify fd returns short with more queued. A poll after a `WouldBlock`, by contrast, tries
//! again even when no event came: readiness the loop has not collected yet is common (reading
//! `cat`'s output frees room for its input), and waiting for it would cost a pass of the loop
//! (tried: twice the `epoll_wait` calls through `cat`, no failed call saved).
//!
//! An [`Async`] whose operations keep succeeding never waits, so nothing would make its task give
//! the loop back: a connection whose peer keeps sending would be served again and again while the
//! others' readiness sits unread. After [`IO_BUDGET`] operations without a wait (whether the wait
//! followed a `WouldBlock` or a short operation), the next one yields first (the task goes to the
//! back of the ready queue and the loop polls again), as tokio's cooperative budget does and as
//! asyncio's one read per readiness event does by construction.
//!
//! Nothing that can run user code (dropping a waker, a callback, a source) happens while the slab or
//! a source's state is borrowed: a closure may own an [`Async`] whose drop must deregister it.
//!
//! # Windows
//!
//! `polling` waits on sockets only there (IOCP with AFD polling), so a source is a socket: [`Async`]
//! takes `T: AsSocket` and [`EventLoop::add_reader`]/[`add_writer`](EventLoop::add_writer) take a
//! `RawSocket` (what `sys` calls `RawSource`). Pipes, consoles and files have no readiness to wait for
//! there: a handle that is not a socket is refused with the OS error, asked with `SO_TYPE` before
//! `polling` sees it (which would take any number and fail only later).

mod source;
#[cfg_attr(unix, path = "unix.rs")]
#[cfg_attr(windows, path = "windows.rs")]
mod sys;
mod wrapper;

use std::io;
use std::rc::Rc;

use super::EventLoop;
use crate::error::LoopClosed;
use source::io_callback;

pub(crate) use source::{IoCallback, Sources};
pub use wrapper::{Async, LoopNotRunning, Readiness};

/// A raw fd on Unix, a raw socket on Windows: what `add_reader` and the poller take.
use sys::RawSource as RawFd;

/// Operations an [`Async`] may complete without waiting before its next one yields to the loop.
///
/// An echo round is two (a read and a write), so a busy connection gets 16 rounds per turn; a bulk
/// copy with 8 KiB buffers moves 128 KiB per turn, against one extra pass of the loop.
const IO_BUDGET: u32 = 32;

/// A direction of readiness; also the index of a source's per-direction state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    Read = 0,
    Write = 1,
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
    /// One reader per fd: a new one replaces the old. Fails on a closed loop or when the OS refuses
    /// the fd. The safe way to wait for readiness is [`Async`], which owns its I/O object. On
    /// Windows, `fd` is a `RawSocket`: only sockets can be watched there (`polling`'s IOCP backend),
    /// and any other handle is refused with the OS error.
    ///
    /// # Safety
    ///
    /// `fd` must be open, and stay open until [`remove_reader`](Self::remove_reader) (and
    /// [`remove_writer`](Self::remove_writer), if one was added) is called for it or the loop is
    /// closed: the poller must forget an fd before it closes, and a number closed under its
    /// registration may be reused by an unrelated file the loop would then touch.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(windows)] fn main() {} // Unix socket pairs; see tests/io_readiness.rs
    /// # #[cfg(unix)] fn main() {
    /// use std::io::{Read, Write};
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// let (mut a, b) = UnixStream::pair().unwrap();
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let (lp2, fd) = (lp.clone(), b.as_raw_fd());
    /// // SAFETY: `b` is open until the callback removes the reader (it owns `b`).
    /// unsafe {
    ///     lp.add_reader(fd, move || {
    ///         let mut buf = [0; 5];
    ///         (&b).read_exact(&mut buf).unwrap();
    ///         assert_eq!(&buf, b"hello");
    ///         lp2.remove_reader(fd);
    ///         lp2.stop();
    ///     })
    /// }
    /// .unwrap();
    /// a.write_all(b"hello").unwrap();
    /// lp.run_forever().unwrap();
    /// # }
    /// ```
    pub unsafe fn add_reader<F: Fn() + 'static>(&self, fd: RawFd, f: F) -> io::Result<()> {
        self.set_io_callback(fd, Dir::Read, Some(io_callback(f))).map(drop)
    }

    /// Calls `f` on every pass of the loop in which `fd` is writable (asyncio's `add_writer`).
    ///
    /// Same rules as [`add_reader`](Self::add_reader).
    ///
    /// # Safety
    ///
    /// As for [`add_reader`](Self::add_reader): `fd` stays open until its writer is removed or the
    /// loop is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(windows)] fn main() {} // Unix socket pairs; see tests/io_readiness.rs
    /// # #[cfg(unix)] fn main() {
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let (lp2, fd) = (lp.clone(), a.as_raw_fd());
    /// // SAFETY: `a` outlives the writer, which removes itself.
    /// unsafe { lp.add_writer(fd, move || { lp2.remove_writer(fd); lp2.stop(); }) }.unwrap();
    /// lp.run_forever().unwrap();
    /// # }
    /// ```
    pub unsafe fn add_writer<F: Fn() + 'static>(&self, fd: RawFd, f: F) -> io::Result<()> {
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
