//! Registrations with the poller: one `Source` per open fd, in a slab keyed by poller key.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use slab::Slab;

use super::sys::{self, RawSource as RawFd};
use super::Dir;
use crate::error::LoopClosed;
use crate::poller::{self, Event, Events, PollMode, Poller};

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

pub(super) fn io_callback<F: Fn() + 'static>(f: F) -> Rc<IoCallback> {
    Rc::new(IoCallback { active: Cell::new(true), f })
}

#[cfg(test)]
thread_local! {
    /// `epoll_ctl` calls that change a source's interest, for the unit tests.
    pub(super) static REARMS: Cell<usize> = const { Cell::new(0) };
}

/// Counts one `epoll_ctl` for the unit tests (nothing outside them).
fn count_rearm() {
    #[cfg(test)]
    REARMS.with(|n| n.set(n.get() + 1));
}

/// One direction (read or write) of a source.
#[derive(Default)]
struct Direction {
    callback: Option<Rc<IoCallback>>,
    /// One slot per waiting future (or [`Async`](super::Async) polled through the futures-io
    /// traits); the slot is freed when its owner is dropped and holds `None` between waits.
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
    /// Open while `registered`: owned by every [`Async`](super::Async) on it, promised by
    /// `add_reader`'s caller.
    pub(super) fd: RawFd,
    /// Live [`Async`](super::Async) wrappers of this fd; the source stays registered while any
    /// exists or a callback is set.
    wrappers: Cell<usize>,
    /// Whether the fd is in the poller; turns false once, when the source is deleted or found stale.
    registered: Cell<bool>,
    /// Whether the poller can watch this source edge-triggered (`polling`: not on Windows).
    can_edge: bool,
    /// Whether the poller watches both directions edge-triggered now: then an event disarms nothing
    /// and a wait that saw `WouldBlock` needs no `epoll_ctl`. Only while no callback is set
    /// (callbacks are level-triggered, as in asyncio) and some future has waited.
    edge: Cell<bool>,
    /// Set for good by an event that reported a hang-up (see [`poller::hung_up`]): then a short
    /// read or write no longer proves that the next one would block, since the end of file or the
    /// error is still to be seen and no new event will announce it.
    hung_up: Cell<bool>,
    dirs: RefCell<[Direction; 2]>,
}

/// What a sync with the poller must make sure of.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Arm {
    /// That everything wanted is watched (a future that stopped waiting costs at most a spurious
    /// event, not an `epoll_ctl`).
    Missing,
    /// That exactly what is wanted is watched (a callback was set or removed).
    Exact,
    /// As `Missing`, and that readiness already there is reported: a wait that did not just see
    /// `WouldBlock` cannot count on a new edge.
    Recheck,
}

impl Source {
    fn unused(&self) -> bool {
        self.wrappers.get() == 0 && self.dirs.borrow().iter().all(|d| d.callback.is_none())
    }

    /// Tells the poller the current interest if it differs from what the poller watches, as `arm`
    /// says.
    ///
    /// Futures alone are watched edge-triggered in both directions where the poller can: one
    /// registration serves every later wait (tokio and mio do the same). Callbacks, or a poller
    /// without edges, use oneshot mode with the exact interest, re-armed after each event.
    fn sync_interest(&self, poller: &Poller, arm: Arm) -> io::Result<()> {
        // Edge-watched already, and only a wait asks: nothing to scan, nothing to tell.
        if self.edge.get() && arm == Arm::Missing {
            return Ok(());
        }
        let mut dirs = self.dirs.borrow_mut();
        if !self.registered.get() {
            return Ok(());
        }
        let (r, w) = (dirs[0].wanted(), dirs[1].wanted());
        let callbacks = dirs.iter().any(|d| d.callback.is_some());
        // SAFETY: the fd is open while the source is registered (see `fd`).
        let fd = unsafe { sys::borrow(self.fd) };
        if self.can_edge && !callbacks && (r || w) {
            if !self.edge.get() || arm == Arm::Recheck {
                count_rearm();
                poller.modify_with_mode(fd, Event::all(self.key), PollMode::Edge)?;
                self.edge.set(true);
                (dirs[0].armed, dirs[1].armed) = (true, true);
            }
            return Ok(());
        }
        let missing = (r && !dirs[0].armed) || (w && !dirs[1].armed);
        let changed = r != dirs[0].armed || w != dirs[1].armed || self.edge.get();
        if !(missing || (arm == Arm::Exact && changed)) {
            return Ok(());
        }
        count_rearm();
        poller.modify(fd, Event::new(self.key, r, w))?;
        self.edge.set(false);
        (dirs[0].armed, dirs[1].armed) = (r, w);
        Ok(())
    }

    /// Records an event: bumps the ticks, hands out the wakers and callbacks, re-arms what is left.
    fn fire(&self, poller: &Poller, ev: &Event, cbs: &mut Vec<Rc<IoCallback>>, wakers: &mut Vec<Waker>) {
        if poller::hung_up(ev) {
            self.hung_up.set(true);
        }
        {
            let mut dirs = self.dirs.borrow_mut();
            let edge = self.edge.get();
            for (d, ready) in dirs.iter_mut().zip([ev.readable, ev.writable]) {
                d.armed = edge;
                if ready {
                    d.tick += 1;
                    wakers.extend(d.wakers.iter_mut().filter_map(|(_, w)| w.take()));
                    cbs.extend(d.callback.clone());
                }
            }
        }
        // A failure means the fd is gone; the next user call reports it.
        let _ = self.sync_interest(poller, Arm::Missing);
    }

    /// The number of readiness events `dir` has seen.
    pub(super) fn tick(&self, dir: Dir) -> u64 {
        self.dirs.borrow()[dir as usize].tick
    }

    /// Whether an event reported a hang-up.
    pub(super) fn hung_up(&self) -> bool {
        self.hung_up.get()
    }

    /// Registers `cx`'s waker in `slot` unless the tick moved past `seen`; returns the readiness and
    /// a replaced waker, which the caller drops once nothing is borrowed.
    ///
    /// `after_would_block`: the caller's operation just reported `WouldBlock`, so readiness will
    /// come as a new event; otherwise the first poll of a wait asks the poller to report readiness
    /// that is already there.
    pub(super) fn poll_ready(
        &self,
        poller: &Poller,
        dir: Dir,
        wait: (&Cell<Option<u64>>, &Cell<Option<usize>>, bool),
        cx: &mut Context<'_>,
    ) -> (Poll<io::Result<()>>, Option<Waker>) {
        let (seen, slot, after_would_block) = wait;
        if !self.registered.get() {
            return (Poll::Ready(Err(io::Error::other(LoopClosed))), None);
        }
        let mut dirs = self.dirs.borrow_mut();
        let d = &mut dirs[dir as usize];
        let mut arm = Arm::Missing;
        match seen.get() {
            Some(t) if t != d.tick => {
                seen.set(None);
                let old = slot.get().and_then(|k| d.wakers.get_mut(k)).and_then(Option::take);
                return (Poll::Ready(Ok(())), old);
            }
            Some(_) => {}
            None => {
                seen.set(Some(d.tick));
                if !after_would_block {
                    arm = Arm::Recheck;
                }
            }
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
        match self.sync_interest(poller, arm) {
            Ok(()) => (Poll::Pending, old),
            Err(e) => (Poll::Ready(Err(e)), old),
        }
    }

    /// Frees a waker slot; returns its waker for the caller to drop once nothing is borrowed.
    pub(super) fn free_slot(&self, dir: Dir, slot: &Cell<Option<usize>>) -> Option<Waker> {
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
            let _ = poller.delete(unsafe { sys::borrow(self.fd) });
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
        if let Some(e) = sys::invalid(fd) {
            return Err(e);
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
                    can_edge: poller.supports_edge(),
                    edge: Cell::new(false),
                    hung_up: Cell::new(false),
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
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
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

    pub(super) fn set_callback(
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
        let armed = src.sync_interest(poller, Arm::Exact);
        // Could not arm: leave no half-registered source behind.
        let rejected = armed.as_ref().err().and_then(|_| src.swap_callback(dir, None));
        self.forget_if_unused(poller, &src);
        // Closures are dropped only now: dropping one runs user code, which may drop an `Async`.
        drop(rejected);
        let had_old = old.is_some();
        drop(old);
        armed.map(|()| had_old)
    }

    pub(super) fn acquire(&self, poller: &Poller, fd: RawFd) -> io::Result<Rc<Source>> {
        let src = self.source_for(poller, fd)?;
        src.wrappers.set(src.wrappers.get() + 1);
        Ok(src)
    }

    pub(super) fn release(&self, poller: &Poller, src: &Source) {
        src.wrappers.set(src.wrappers.get().saturating_sub(1));
        self.forget_if_unused(poller, src);
    }

    /// Deletes every source from the poller (the loop is closing).
    pub(crate) fn close(&self, poller: &Poller) {
        self.by_fd.borrow_mut().clear();
        let slab = std::mem::take(&mut *self.slab.borrow_mut());
        // Delete every fd first, drop the sources after: dropping a callback may drop an `Async`,
        // which closes its fd, and kqueue and IOCP (`poller`) require an fd to be deleted before it closes.
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
