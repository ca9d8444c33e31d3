//! I/O readiness: `add_reader`/`add_writer` callbacks and the [`Async`] wrapper, on `polling`.
//!
//! # Implementation
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
//! The poller runs in oneshot mode and each source remembers what the poller watches (`armed`). An
//! event disarms the source; it is re-armed at once only for the interest left (persistent callbacks,
//! or waiters of the other direction), and otherwise by the next future that has to wait. That is one
//! `epoll_ctl` per wait, and it keeps callbacks level-triggered as in asyncio (a reader that leaves
//! data unread is called again on the next pass).
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
//! An [`Async`] whose operations keep succeeding never waits, so nothing would make its task give
//! the loop back: a connection whose peer keeps sending would be served again and again while the
//! others' readiness sits unread. After [`IO_BUDGET`] operations without a wait, the next one
//! yields first (the task goes to the back of the ready queue and the loop polls again), as tokio's
//! cooperative budget does and as asyncio's one read per readiness event does by construction.
//!
//! Nothing that can run user code (dropping a waker, a callback, a source) happens while the slab or
//! a source's state is borrowed: a closure may own an [`Async`] whose drop must deregister it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use polling::{Event, Events, Poller};
use slab::Slab;

use super::{try_get_running_loop, EventLoop};
use crate::error::LoopClosed;

/// Operations an [`Async`] may complete without waiting before its next one yields to the loop.
///
/// An echo round is two (a read and a write), so a busy connection gets 16 rounds per turn; a bulk
/// copy with 8 KiB buffers moves 128 KiB per turn, against one extra pass of the loop.
pub(crate) const IO_BUDGET: u32 = 32;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    Read = 0,
    Write = 1,
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

#[cfg(test)]
thread_local! {
    /// `epoll_ctl` calls that change a source's interest, for the unit tests.
    static REARMS: Cell<usize> = const { Cell::new(0) };
}

/// One direction (read or write) of a source.
#[derive(Default)]
struct Direction {
    callback: Option<Rc<IoCallback>>,
    /// One slot per waiting future (or [`Async`] polled through the futures-io traits); the slot is
    /// freed when its owner is dropped and holds `None` between waits.
    wakers: Slab<Option<Waker>>,
    /// Bumped on every readiness event of this direction.
    tick: u64,
    /// Whether the poller watches this direction now (an event disarms the whole oneshot source).
    armed: bool,
}

impl Direction {
    fn wanted(&self) -> bool {
        self.callback.is_some() || self.wakers.iter().any(|(_, w)| w.is_some())
    }
}

/// One registration with the poller (see the module doc).
pub(crate) struct Source {
    /// The poller key: this source's index in [`Sources::slab`].
    key: usize,
    /// Open while `registered`: owned by every [`Async`] on it, promised by `add_reader`'s caller.
    fd: RawFd,
    /// Live [`Async`] wrappers of this fd; the source stays registered while any exists or a
    /// callback is set.
    wrappers: Cell<usize>,
    /// Whether the fd is in the poller; turns false once, when the source is deleted or found stale.
    registered: Cell<bool>,
    dirs: RefCell<[Direction; 2]>,
}

impl Source {
    fn unused(&self) -> bool {
        self.wrappers.get() == 0 && self.dirs.borrow().iter().all(|d| d.callback.is_none())
    }

    /// Tells the poller the current interest if it differs from what the poller watches: always
    /// when `exact`, else only when something wanted is not watched (a future that stopped waiting
    /// costs at most one spurious event, not an `epoll_ctl`).
    fn sync_interest(&self, poller: &Poller, exact: bool) -> io::Result<()> {
        let mut dirs = self.dirs.borrow_mut();
        let (r, w) = (dirs[0].wanted(), dirs[1].wanted());
        let missing = (r && !dirs[0].armed) || (w && !dirs[1].armed);
        let changed = r != dirs[0].armed || w != dirs[1].armed;
        if !self.registered.get() || !(missing || (exact && changed)) {
            return Ok(());
        }
        #[cfg(test)]
        REARMS.with(|n| n.set(n.get() + 1));
        // SAFETY: the fd is open while the source is registered (see `fd`).
        poller.modify(unsafe { BorrowedFd::borrow_raw(self.fd) }, Event::new(self.key, r, w))?;
        (dirs[0].armed, dirs[1].armed) = (r, w);
        Ok(())
    }

    /// Records an event: bumps the ticks, hands out the wakers and callbacks, re-arms what is left.
    fn fire(&self, poller: &Poller, ev: &Event, cbs: &mut Vec<Rc<IoCallback>>, wakers: &mut Vec<Waker>) {
        {
            let mut dirs = self.dirs.borrow_mut();
            for (d, ready) in dirs.iter_mut().zip([ev.readable, ev.writable]) {
                d.armed = false;
                if ready {
                    d.tick += 1;
                    wakers.extend(d.wakers.iter_mut().filter_map(|(_, w)| w.take()));
                    cbs.extend(d.callback.clone());
                }
            }
        }
        // A failure means the fd is gone; the next user call reports it.
        let _ = self.sync_interest(poller, false);
    }

    /// Registers `cx`'s waker in `slot` unless the tick moved past `seen`; returns the readiness and
    /// a replaced waker, which the caller drops once nothing is borrowed.
    fn poll_ready(
        &self,
        poller: &Poller,
        dir: Dir,
        seen: &Cell<Option<u64>>,
        slot: &Cell<Option<usize>>,
        cx: &mut Context<'_>,
    ) -> (Poll<io::Result<()>>, Option<Waker>) {
        if !self.registered.get() {
            return (Poll::Ready(Err(io::Error::other(LoopClosed))), None);
        }
        let mut dirs = self.dirs.borrow_mut();
        let d = &mut dirs[dir as usize];
        match seen.get() {
            Some(t) if t != d.tick => {
                seen.set(None);
                let old = slot.get().and_then(|k| d.wakers.get_mut(k)).and_then(Option::take);
                return (Poll::Ready(Ok(())), old);
            }
            Some(_) => {}
            None => seen.set(Some(d.tick)),
        }
        let key = match slot.get() {
            Some(k) => k,
            None => {
                let k = d.wakers.insert(None);
                slot.set(Some(k));
                k
            }
        };
        let old = match d.wakers.get_mut(key) {
            Some(Some(w)) if w.will_wake(cx.waker()) => None,
            Some(w) => w.replace(cx.waker().clone()),
            None => None,
        };
        drop(dirs);
        match self.sync_interest(poller, false) {
            Ok(()) => (Poll::Pending, old),
            Err(e) => (Poll::Ready(Err(e)), old),
        }
    }

    /// Frees a waker slot; returns its waker for the caller to drop once nothing is borrowed.
    fn free_slot(&self, dir: Dir, slot: &Cell<Option<usize>>) -> Option<Waker> {
        let k = slot.take()?;
        self.dirs.borrow_mut()[dir as usize].wakers.try_remove(k).flatten()
    }

    /// Sets or clears a callback; returns the old one for the caller to drop.
    fn swap_callback(&self, dir: Dir, cb: Option<Rc<IoCallback>>) -> Option<Rc<IoCallback>> {
        let old = std::mem::replace(&mut self.dirs.borrow_mut()[dir as usize].callback, cb);
        if let Some(old) = &old {
            old.active.set(false);
        }
        old
    }

    /// Deletes the fd from the poller, once.
    fn unregister(&self, poller: &Poller) {
        if self.registered.replace(false) {
            // SAFETY: the fd is open while the source is registered (see `fd`).
            let _ = poller.delete(unsafe { BorrowedFd::borrow_raw(self.fd) });
        }
    }
}

/// All sources of a loop.
#[derive(Default)]
pub(crate) struct Sources {
    /// Every registered source, by poller key.
    slab: RefCell<Slab<Rc<Source>>>,
    /// The source of each registered fd (one per open fd: the poller refuses a second).
    by_fd: RefCell<HashMap<RawFd, usize>>,
}

impl Sources {
    pub(crate) fn is_empty(&self) -> bool {
        self.slab.borrow().is_empty()
    }

    /// Turns poller events into ready callbacks and wakers, and re-arms what is still wanted.
    pub(crate) fn dispatch(
        &self,
        poller: &Poller,
        events: &Events,
        callbacks: &mut Vec<Rc<IoCallback>>,
        wakers: &mut Vec<Waker>,
    ) {
        for ev in events.iter() {
            let src = self.slab.borrow().get(ev.key).cloned();
            if let Some(src) = src {
                src.fire(poller, &ev, callbacks, wakers);
            }
        }
    }

    /// The source of the open fd `fd`, registering it if it is not yet.
    ///
    /// The poller decides: `EEXIST` means this open fd is registered here, so the source listed for
    /// its number is its own; success means any source still listed for the number is stale (its fd
    /// was closed under it), and it is dropped.
    fn source_for(&self, poller: &Poller, fd: RawFd) -> io::Result<Rc<Source>> {
        if fd < 0 {
            // What the OS says of such a number (and `BorrowedFd` refuses -1 outright).
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let key = self.slab.borrow().vacant_key();
        // SAFETY: deleted in `unregister` while the fd is still open (the callers' contract).
        match unsafe { poller.add(fd, Event::none(key)) } {
            Ok(()) => {
                let src = Rc::new(Source {
                    key,
                    fd,
                    wrappers: Cell::new(0),
                    registered: Cell::new(true),
                    dirs: RefCell::default(),
                });
                let inserted = self.slab.borrow_mut().insert(src.clone());
                debug_assert_eq!(inserted, key, "nothing registers between vacant_key and insert");
                let stale = self.by_fd.borrow_mut().insert(fd, key);
                if let Some(stale) = stale {
                    self.drop_stale(stale);
                }
                Ok(src)
            }
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                let listed = self.by_fd.borrow().get(&fd).copied();
                match listed.and_then(|k| self.slab.borrow().get(k).cloned()) {
                    Some(src) => Ok(src),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Drops a source whose fd was closed under it (the poller forgot it with the fd).
    fn drop_stale(&self, key: usize) {
        let Some(src) = self.slab.borrow_mut().try_remove(key) else { return };
        src.registered.set(false);
        let old = (src.swap_callback(Dir::Read, None), src.swap_callback(Dir::Write, None));
        drop(old);
    }

    /// Deletes `src` from the poller and the slab if nothing uses it any more.
    ///
    /// The poller forgets the fd first, through the source itself: that needs no borrow, so no
    /// borrow held elsewhere can make a fd close while registered.
    fn forget_if_unused(&self, poller: &Poller, src: &Source) {
        if !src.unused() || !src.registered.get() {
            return;
        }
        src.unregister(poller);
        if let Ok(mut by_fd) = self.by_fd.try_borrow_mut() {
            if by_fd.get(&src.fd) == Some(&src.key) {
                by_fd.remove(&src.fd);
            }
        }
        let removed = self.slab.try_borrow_mut().ok().and_then(|mut s| s.try_remove(src.key));
        drop(removed);
    }

    fn set_callback(
        &self,
        poller: &Poller,
        fd: RawFd,
        dir: Dir,
        cb: Option<Rc<IoCallback>>,
    ) -> io::Result<bool> {
        let src = match cb {
            Some(_) => self.source_for(poller, fd)?,
            None => {
                let listed = self.by_fd.borrow().get(&fd).copied();
                match listed.and_then(|k| self.slab.borrow().get(k).cloned()) {
                    Some(src) => src,
                    None => return Ok(false),
                }
            }
        };
        let old = src.swap_callback(dir, cb);
        let armed = src.sync_interest(poller, true);
        // Could not arm: leave no half-registered source behind.
        let rejected = armed.as_ref().err().and_then(|_| src.swap_callback(dir, None));
        self.forget_if_unused(poller, &src);
        // Closures are dropped only now: dropping one runs user code, which may drop an `Async`.
        drop(rejected);
        let had_old = old.is_some();
        drop(old);
        armed.map(|()| had_old)
    }

    fn acquire(&self, poller: &Poller, fd: RawFd) -> io::Result<Rc<Source>> {
        let src = self.source_for(poller, fd)?;
        src.wrappers.set(src.wrappers.get() + 1);
        Ok(src)
    }

    fn release(&self, poller: &Poller, src: &Source) {
        src.wrappers.set(src.wrappers.get().saturating_sub(1));
        self.forget_if_unused(poller, src);
    }

    /// Deletes every source from the poller (the loop is closing).
    pub(crate) fn close(&self, poller: &Poller) {
        self.by_fd.borrow_mut().clear();
        let slab = std::mem::take(&mut *self.slab.borrow_mut());
        // Delete every fd first, drop the sources after: dropping a callback may drop an `Async`,
        // which closes its fd, and `polling` requires an fd to be deleted before it closes.
        for (_, src) in &slab {
            src.unregister(poller);
        }
        let callbacks: Vec<_> = slab
            .iter()
            .flat_map(|(_, s)| [s.swap_callback(Dir::Read, None), s.swap_callback(Dir::Write, None)])
            .collect();
        drop(slab);
        drop(callbacks);
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
    /// One reader per fd: a new one replaces the old. Fails on a closed loop or when the OS refuses
    /// the fd. The safe way to wait for readiness is [`Async`], which owns its I/O object.
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
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let (lp2, fd) = (lp.clone(), a.as_raw_fd());
    /// // SAFETY: `a` outlives the writer, which removes itself.
    /// unsafe { lp.add_writer(fd, move || { lp2.remove_writer(fd); lp2.stop(); }) }.unwrap();
    /// lp.run_forever().unwrap();
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

/// An [`Async`] (or a [`TcpStream`](crate::net::TcpStream) or listener) was polled while its event
/// loop was not running, so nothing would ever wake it.
///
/// It comes back as the inner error of an [`io::Error`] (`e.get_ref()` and downcast).
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// let lp = tulip::EventLoop::new().unwrap();
/// let (_a, b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let b = tulip::Async::with_loop(&lp, b).unwrap();
/// // Not inside `lp.run_until_complete`: the loop is not running.
/// let e = futures_lite::future::block_on(b.readable()).unwrap_err();
/// assert!(e.get_ref().unwrap().is::<tulip::LoopNotRunning>());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopNotRunning {
    /// Where the waiting future was made (`readable()`, `read_with(..)`, ...), when known.
    pub caller: Option<&'static Location<'static>>,
}

impl fmt::Display for LoopNotRunning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an I/O object was polled while its tulip event loop is not running")?;
        if let Some(l) = self.caller {
            write!(f, " (waiting at {l})")?;
        }
        f.write_str("; it would never be woken: await it in a task or future of the loop it was created on")
    }
}

impl Error for LoopNotRunning {}

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
/// An `Async` belongs to the loop it was created on and must be used from that loop's thread, while
/// that loop runs: polled otherwise, it fails with [`LoopNotRunning`] instead of waiting forever. Two
/// `Async` wrappers of the same fd (and a reader or writer added for it) share one registration.
pub struct Async<T: AsFd> {
    /// `None` only inside `into_inner`/`drop`, after deregistration.
    io: Option<T>,
    source: Rc<Source>,
    lp: EventLoop,
    /// The tick each direction's futures-io poll saw when it began to wait.
    seen: [Cell<Option<u64>>; 2],
    /// The waker slot of each direction's futures-io polls (one waiter per direction, as async-io).
    slots: [Cell<Option<usize>>; 2],
    /// Operations completed since this object last had to wait; at [`IO_BUDGET`] the next one
    /// yields first.
    unwaited: Cell<u32>,
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
        set_nonblocking(io.as_fd())?;
        let source = lp.inner.io.acquire(&lp.inner.shared.poller, fd)?;
        Ok(Async {
            io: Some(io),
            source,
            lp: lp.clone(),
            seen: Default::default(),
            slots: Default::default(),
            unwaited: Cell::new(0),
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
    /// # Safety
    ///
    /// The object must keep its fd open: replacing it (`*a.get_mut() = other`, `mem::swap`) or
    /// closing its fd would leave the loop's registration on a closed fd, whose number an unrelated
    /// file may reuse. [`get_ref`](Self::get_ref) is enough for most calls, through `&T`.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut s = tulip::Async::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    ///     // SAFETY: setting an option neither replaces the socket nor closes its fd.
    ///     unsafe { s.get_mut() }.set_ttl(10).unwrap();
    /// });
    /// ```
    pub unsafe fn get_mut(&mut self) -> &mut T {
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
            let wakers = [
                self.source.free_slot(Dir::Read, &self.slots[0]),
                self.source.free_slot(Dir::Write, &self.slots[1]),
            ];
            self.lp.inner.io.release(&self.lp.inner.shared.poller, &self.source);
            drop(wakers);
        }
    }

    /// Waits in `dir`, with the waker kept in `slot`; fails at once if nothing could wake it.
    fn poll_wait(
        &self,
        dir: Dir,
        seen: &Cell<Option<u64>>,
        slot: &Cell<Option<usize>>,
        caller: Option<&'static Location<'static>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        if self.lp.is_closed() {
            return Poll::Ready(Err(io::Error::other(LoopClosed)));
        }
        if !self.lp.is_running() {
            return Poll::Ready(Err(io::Error::other(LoopNotRunning { caller })));
        }
        let (poll, replaced) = self.source.poll_ready(&self.lp.inner.shared.poller, dir, seen, slot, cx);
        drop(replaced);
        poll
    }

    fn wait(&self, dir: Dir, caller: &'static Location<'static>) -> Readiness<'_, T> {
        Readiness { io: self, dir, seen: Cell::new(None), slot: Cell::new(None), caller }
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
    #[track_caller]
    pub fn readable(&self) -> Readiness<'_, T> {
        self.wait(Dir::Read, Location::caller())
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
    #[track_caller]
    pub fn writable(&self) -> Readiness<'_, T> {
        self.wait(Dir::Write, Location::caller())
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
    #[track_caller]
    pub fn read_with<'a, R, F: FnMut(&T) -> io::Result<R> + 'a>(
        &'a self,
        op: F,
    ) -> impl Future<Output = io::Result<R>> + use<'a, T, R, F> {
        self.retry(Dir::Read, Location::caller(), op)
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
    #[track_caller]
    pub fn write_with<'a, R, F: FnMut(&T) -> io::Result<R> + 'a>(
        &'a self,
        op: F,
    ) -> impl Future<Output = io::Result<R>> + use<'a, T, R, F> {
        self.retry(Dir::Write, Location::caller(), op)
    }

    async fn retry<R>(
        &self,
        dir: Dir,
        caller: &'static Location<'static>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            if self.over_budget() {
                futures_lite::future::yield_now().await;
            }
            match self.counted(op(self.get_ref())) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait(dir, caller).await?,
                res => return res,
            }
        }
    }

    /// Polls the non-blocking operation `op`, waiting for readability while it reports
    /// `WouldBlock` (what `AsyncRead` does with `read`), for types that wait on several objects;
    /// `caller` is where the user made the waiting future.
    pub(crate) fn poll_read_with<R>(
        &self,
        caller: &'static Location<'static>,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        poll_io(self, Dir::Read, Some(caller), cx, op)
    }

    /// Whether the next operation must yield first (see [`IO_BUDGET`]); if so the count restarts.
    fn over_budget(&self) -> bool {
        let spent = self.unwaited.get() >= IO_BUDGET;
        if spent {
            self.unwaited.set(0);
        }
        spent
    }

    /// Counts an operation's outcome against the budget: a `WouldBlock` means a wait follows.
    fn counted<R>(&self, res: io::Result<R>) -> io::Result<R> {
        match &res {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.unwaited.set(0),
            _ => self.unwaited.set(self.unwaited.get() + 1),
        }
        res
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
        self.source.fd
    }
}

/// A future that completes when an [`Async`]'s fd is ready; from [`Async::readable`] or
/// [`Async::writable`].
#[must_use = "futures do nothing unless polled"]
pub struct Readiness<'a, T: AsFd> {
    io: &'a Async<T>,
    dir: Dir,
    seen: Cell<Option<u64>>,
    /// This future's waker slot in the source, freed on drop.
    slot: Cell<Option<usize>>,
    /// Where the future was made, for [`LoopNotRunning`].
    caller: &'static Location<'static>,
}

impl<T: AsFd> Future for Readiness<'_, T> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_wait(self.dir, &self.seen, &self.slot, Some(self.caller), cx)
    }
}

impl<T: AsFd> Drop for Readiness<'_, T> {
    fn drop(&mut self) {
        drop(self.io.source.free_slot(self.dir, &self.slot));
    }
}

impl<T: AsFd> fmt::Debug for Readiness<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness").field("fd", &self.io.source.fd).field("dir", &self.dir).finish()
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let fd = fd.as_raw_fd();
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

/// Retries `op` on `WouldBlock`, waiting for readiness in `dir` (the body of the poll-based traits).
fn poll_io<T: AsFd, R>(
    a: &Async<T>,
    dir: Dir,
    caller: Option<&'static Location<'static>>,
    cx: &mut Context<'_>,
    mut op: impl FnMut(&T) -> io::Result<R>,
) -> Poll<io::Result<R>> {
    let i = dir as usize;
    if a.over_budget() {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    loop {
        match a.counted(op(a.get_ref())) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                match a.poll_wait(dir, &a.seen[i], &a.slots[i], caller, cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            res => {
                // Done waiting: the next `WouldBlock` registers at once instead of taking the tick
                // that moved for this wait as a new event (which would cost a failing retry).
                a.seen[i].set(None);
                return Poll::Ready(res);
            }
        }
    }
}

impl<T: AsFd> futures_io::AsyncRead for Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        poll_io(&self, Dir::Read, None, cx, |mut io| io.read(buf))
    }
}

impl<T: AsFd> futures_io::AsyncWrite for Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        poll_io(&self, Dir::Write, None, cx, |mut io| io.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_io(&self, Dir::Write, None, cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    /// Ping-pong of one byte between two `Async` ends: every read waits, and each wait must cost one
    /// `epoll_ctl` (arming when the future waits), not a second one to re-arm after the event.
    #[test]
    fn one_rearm_per_wait() {
        const ROUNDS: usize = 200;
        let waits = Rc::new(Cell::new(0));
        let w = waits.clone();
        let rearms = crate::run(async move {
            let (a, b) = UnixStream::pair().unwrap();
            let (a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());
            let counted_read = move |s: &UnixStream| {
                let r = (&*s).read(&mut [0; 1]);
                if matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
                    w.set(w.get() + 1);
                }
                r
            };
            let pong = crate::get_running_loop().spawn(async move {
                for _ in 0..ROUNDS {
                    b.read_with(counted_read.clone()).await.unwrap();
                    b.write_with(|s| (&*s).write(b"o")).await.unwrap();
                }
            });
            let before = REARMS.with(Cell::get);
            for _ in 0..ROUNDS {
                a.write_with(|s| (&*s).write(b"i")).await.unwrap();
                a.read_with(|s| (&*s).read(&mut [0; 1])).await.unwrap();
            }
            pong.await.unwrap();
            REARMS.with(Cell::get) - before
        });
        // The pinging side waits as often as the ponging side; only the latter is counted.
        let waits = 2 * waits.get();
        assert!(waits >= ROUNDS, "the test did not make the reads wait ({waits} waits)");
        assert!(rearms <= waits + 2, "{rearms} epoll_ctl calls for {waits} waits");
    }
}
