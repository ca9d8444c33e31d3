//! Signal handlers on the loop (asyncio's `add_signal_handler` / `remove_signal_handler`), and
//! signals as something a task awaits ([`recv`], [`Signals`]).
//!
//! A handler is an ordinary callback: it runs on the loop's thread, between other callbacks, and
//! may do anything a callback does (stop the loop, start a graceful shutdown). Signals that arrive
//! several times before the loop gets to them are coalesced into one call, as the OS coalesces
//! them; one that arrives while its handler runs is never lost: the handler runs again.
//!
//! ```
//! use std::rc::Rc;
//! use std::cell::Cell;
//!
//! let lp = tulip::EventLoop::new().unwrap();
//! let got = Rc::new(Cell::new(false));
//! let (g, lp2) = (got.clone(), lp.clone());
//! lp.add_signal_handler(libc::SIGUSR2, move || { g.set(true); lp2.stop(); }).unwrap();
//! // SAFETY: raising a signal that has a handler.
//! unsafe { libc::raise(libc::SIGUSR2) };
//! lp.run_forever().unwrap();
//! assert!(got.get());
//! assert!(lp.remove_signal_handler(libc::SIGUSR2).unwrap());
//! ```
//!
//! # Implementation
//!
//! The OS-level handler is async-signal-safe and does two things (and then chains, see below): it
//! sets the signal's flag in a process-wide table, and writes a byte to a process-wide self-pipe
//! (non-blocking: a full pipe already means "look"). The pipe's read end is a reader on the loop that owns the signal
//! handlers; on each pass with bytes in the pipe, it drains it and then swaps each watched flag
//! back to false, calling the handler of each flag that was set. A signal arriving after the drain
//! sets its flag and writes a byte again, so the next pass sees it.
//!
//! The disposition found when a signal's first handler (or [`Signals`]) is installed is kept and
//! put back when the last one goes, or when the loop closes: removal restores the old
//! disposition. Meanwhile it is chained: if it was a handler function (a C library's, installed
//! with `sigaction`, plain or `SA_SIGINFO`), tulip's OS-level handler calls it after its own work,
//! with the same arguments. `SIG_DFL` and `SIG_IGN` are not acted out (a handler is there so that
//! the default action does not happen). The process-wide side (the one OS-level handler, its
//! users per signal, chaining, the pipes) is in `signal::os`; subprocesses waiting without pidfds
//! are one more user of `SIGCHLD` there.
//!
//! # Caveats
//!
//! - The dispositions are the process's, so, as in asyncio (which allows it only on the main
//!   thread's loop), one loop at a time handles signals: another loop's
//!   [`add_signal_handler`](EventLoop::add_signal_handler) fails with
//!   [`SignalError::OtherLoop`] until the first removes its handlers or closes.
//! - The signal must reach this process and not be blocked on every thread: a signal blocked in
//!   all threads waits until one unblocks it.
//! - A chained handler runs with tulip's signal mask and flags, not its own (`SA_RESETHAND`,
//!   `SA_NODEFER` and its `sa_mask` are not honoured while tulip's handler is in).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::c_int;
use std::fmt;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::reactor::{try_get_running_loop, EventLoop, LoopInner};
use os::{NSIG, PENDING};

pub(crate) mod os;

/// The id of the loop that has the process's signal handlers, 0 for none.
static OWNER: Mutex<u64> = Mutex::new(0);

/// Why a signal handler could not be installed or awaited.
///
/// # Examples
///
/// ```
/// use tulip::signal::SignalError;
/// let lp = tulip::EventLoop::new().unwrap();
/// assert_eq!(lp.add_signal_handler(libc::SIGKILL, || {}), Err(SignalError::Uncatchable(libc::SIGKILL)));
/// assert_eq!(lp.add_signal_handler(libc::SIGSEGV, || {}), Err(SignalError::Synchronous(libc::SIGSEGV)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignalError {
    /// Not a signal number.
    Invalid(i32),
    /// `SIGKILL` or `SIGSTOP`: the OS lets nobody handle them.
    Uncatchable(i32),
    /// A signal the OS sends to the thread that faulted (`SIGSEGV`, `SIGBUS`, `SIGFPE`, `SIGILL`,
    /// `SIGTRAP`, `SIGSYS`): a handler that returns would fault again, so it cannot wait for the loop.
    Synchronous(i32),
    /// Another loop has the process's signal handlers (see the module's caveats).
    OtherLoop,
    /// The loop is closed.
    LoopClosed,
    /// No loop runs on this thread (for [`recv`] and [`Signals::new`]).
    NoLoop,
    /// The OS refused (the text says why), e.g. a signal the C library reserves for itself.
    Os(String),
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalError::Invalid(s) => write!(f, "{s} is not a signal number"),
            SignalError::Uncatchable(s) => write!(f, "signal {s} (SIGKILL or SIGSTOP) cannot be handled"),
            SignalError::Synchronous(s) => {
                write!(f, "signal {s} is a synchronous fault signal and cannot be handled on the loop")
            }
            SignalError::OtherLoop => write!(f, "another event loop handles this process's signals"),
            SignalError::LoopClosed => write!(f, "the event loop is closed"),
            SignalError::NoLoop => write!(f, "no tulip event loop runs on this thread"),
            SignalError::Os(m) => write!(f, "cannot install a signal handler: {m}"),
        }
    }
}

impl std::error::Error for SignalError {}

/// Refuses what can never be handled on a loop.
fn check(sig: c_int) -> Result<(), SignalError> {
    match sig {
        libc::SIGKILL | libc::SIGSTOP => Err(SignalError::Uncatchable(sig)),
        libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP | libc::SIGSYS => {
            Err(SignalError::Synchronous(sig))
        }
        _ if sig <= 0 || sig as usize >= NSIG => Err(SignalError::Invalid(sig)),
        _ => Ok(()),
    }
}

/// One watched signal on the owning loop.
struct Entry {
    /// The `add_signal_handler` callback, if one is set.
    callback: Option<Rc<dyn Fn()>>,
    /// Live [`Signals`] subscriptions. The entry lives while this is non-zero or `callback` is set.
    subscribers: usize,
    /// Deliveries so far; a [`Signals`] has one more to report while its count is behind.
    deliveries: Rc<Cell<u64>>,
    /// Tasks waiting for the next delivery.
    wakers: Vec<Waker>,
}

/// The signal handlers of one loop (kept in the loop's extensions, dropped when it closes).
struct LoopSignals {
    /// The loop, weakly: the loop owns this (in its extensions), and a strong reference back
    /// would keep a loop dropped without `close` alive, handlers and all.
    lp: Weak<LoopInner>,
    /// The loop's id, the owner mark in [`OWNER`].
    id: u64,
    entries: RefCell<HashMap<c_int, Entry>>,
}

impl LoopSignals {
    /// This loop's state, created on first use.
    fn of(lp: &EventLoop) -> Result<Rc<LoopSignals>, SignalError> {
        if lp.is_closed() {
            return Err(SignalError::LoopClosed);
        }
        if let Some(s) = LoopSignals::find(lp) {
            return Ok(s);
        }
        let lp_weak = Rc::downgrade(&lp.inner);
        let s = Rc::new(LoopSignals {
            lp: lp_weak,
            id: lp.inner.shared.id,
            entries: RefCell::new(HashMap::new()),
        });
        lp.inner.extensions.borrow_mut().push(Box::new(Holder(s.clone())));
        Ok(s)
    }

    /// This loop's state, if it has one.
    fn find(lp: &EventLoop) -> Option<Rc<LoopSignals>> {
        let exts = lp.inner.extensions.borrow();
        exts.iter().find_map(|e| e.downcast_ref::<Holder>()).map(|h| h.0.clone())
    }

    fn lp(&self) -> Option<EventLoop> {
        self.lp.upgrade().map(|inner| EventLoop { inner })
    }

    /// Watches `sig` (installing the OS handler) unless it is already; the first watched signal
    /// makes this loop the owner and puts the self-pipe's reader on it.
    fn watch(self: &Rc<Self>, sig: c_int) -> Result<(), SignalError> {
        check(sig)?;
        if self.entries.borrow().contains_key(&sig) {
            return Ok(());
        }
        let read = os::loop_pipe()?;
        if self.entries.borrow().is_empty() {
            self.own(read)?;
        }
        match os::watch_on_loop(sig) {
            Ok(()) => {
                let entry =
                    Entry { callback: None, subscribers: 0, deliveries: Rc::default(), wakers: Vec::new() };
                self.entries.borrow_mut().insert(sig, entry);
                Ok(())
            }
            Err(e) => {
                self.release_if_idle();
                Err(e)
            }
        }
    }

    /// Takes the process's signal handling for this loop and reads the self-pipe on it.
    fn own(self: &Rc<Self>, read: c_int) -> Result<(), SignalError> {
        let id = self.id;
        let lp = self.lp().ok_or(SignalError::LoopClosed)?;
        let mut owner = OWNER.lock().unwrap_or_else(|e| e.into_inner());
        if *owner != 0 && *owner != id {
            return Err(SignalError::OtherLoop);
        }
        let me = Rc::downgrade(self);
        // SAFETY: the read end is never closed.
        unsafe { lp.add_reader(read, move || dispatch(&me, read)) }
            .map_err(|e| SignalError::Os(e.to_string()))?;
        *owner = id;
        Ok(())
    }

    /// Gives signal handling up once nothing is watched any more.
    fn release_if_idle(&self) {
        if self.entries.borrow().is_empty() {
            if let (Ok(read), Some(lp)) = (os::loop_pipe(), self.lp()) {
                lp.remove_reader(read);
            }
            release(self.id);
        }
    }

    /// Stops watching `sig` if nothing needs it any more, putting its old disposition back.
    fn unwatch_if_unused(&self, sig: c_int) {
        let mut entries = self.entries.borrow_mut();
        let unused = entries.get(&sig).is_some_and(|e| e.callback.is_none() && e.subscribers == 0);
        if unused {
            if entries.remove(&sig).is_some() {
                os::unwatch_on_loop(sig);
            }
            drop(entries);
            self.release_if_idle();
        }
    }
}

/// Owns the loop's `Rc<LoopSignals>` in its extensions; closing the loop drops it.
struct Holder(Rc<LoopSignals>);

impl Drop for LoopSignals {
    fn drop(&mut self) {
        for (sig, _) in self.entries.get_mut().drain() {
            os::unwatch_on_loop(sig);
        }
        release(self.id);
    }
}

fn release(id: u64) {
    let mut owner = OWNER.lock().unwrap_or_else(|e| e.into_inner());
    if *owner == id {
        *owner = 0;
    }
}

/// The self-pipe's reader: drain the pipe, then act on every watched flag that was set.
fn dispatch(me: &Weak<LoopSignals>, read: c_int) {
    os::drain(read);
    let Some(me) = me.upgrade() else { return };
    let sigs: Vec<c_int> = me.entries.borrow().keys().copied().collect();
    for sig in sigs {
        if !PENDING[sig as usize].swap(false, Ordering::SeqCst) {
            continue;
        }
        let callback = {
            let mut entries = me.entries.borrow_mut();
            let Some(entry) = entries.get_mut(&sig) else { continue };
            entry.deliveries.set(entry.deliveries.get() + 1);
            entry.wakers.drain(..).for_each(Waker::wake);
            entry.callback.clone()
        };
        if let Some(cb) = callback {
            cb();
        }
    }
}

impl EventLoop {
    /// Calls `callback` on this loop whenever signal `sig` arrives (asyncio's
    /// `add_signal_handler`); replaces this loop's previous handler for `sig`.
    ///
    /// # Errors
    ///
    /// [`SignalError`]: `SIGKILL`/`SIGSTOP`, a synchronous fault signal, not a signal number, a
    /// closed loop, another loop that handles signals, or the OS refused.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// lp.add_signal_handler(libc::SIGHUP, || println!("reload")).unwrap();
    /// assert!(lp.remove_signal_handler(libc::SIGHUP).unwrap());
    /// ```
    pub fn add_signal_handler<F: Fn() + 'static>(&self, sig: i32, callback: F) -> Result<(), SignalError> {
        let signals = LoopSignals::of(self)?;
        signals.watch(sig)?;
        if let Some(entry) = signals.entries.borrow_mut().get_mut(&sig) {
            entry.callback = Some(Rc::new(callback));
        }
        Ok(())
    }

    /// Removes this loop's handler for `sig` (asyncio's `remove_signal_handler`); returns whether
    /// there was one. The disposition found when it was added is put back (unless a [`Signals`]
    /// still watches `sig`).
    ///
    /// # Errors
    ///
    /// [`SignalError::Invalid`], [`Uncatchable`](SignalError::Uncatchable) or
    /// [`Synchronous`](SignalError::Synchronous) for what could never have a handler.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// assert_eq!(lp.remove_signal_handler(libc::SIGUSR1), Ok(false));
    /// ```
    pub fn remove_signal_handler(&self, sig: i32) -> Result<bool, SignalError> {
        check(sig)?;
        let Some(signals) = LoopSignals::find(self) else { return Ok(false) };
        let had = signals.entries.borrow_mut().get_mut(&sig).and_then(|e| e.callback.take()).is_some();
        signals.unwatch_if_unused(sig);
        Ok(had)
    }
}

/// The arrivals of one signal, as a stream of the running loop (tokio's `signal(kind)`, async-io's
/// `Signals`): each item is the signal number, once per batch of coalesced arrivals. Arrivals from
/// its creation on are counted, including those while nothing awaits it.
///
/// It coexists with an [`add_signal_handler`](EventLoop::add_signal_handler) callback for the
/// same signal (both see each arrival); the old disposition is put back when the last of them goes.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
/// tulip::run(async {
///     let mut usr1 = tulip::signal::Signals::new(libc::SIGUSR1).unwrap();
///     // SAFETY: raising a signal that has a handler.
///     unsafe { libc::raise(libc::SIGUSR1) };
///     assert_eq!(usr1.next().await, Some(libc::SIGUSR1));
/// });
/// ```
pub struct Signals {
    signals: Rc<LoopSignals>,
    sig: c_int,
    /// The signal's delivery count, shared with its entry.
    deliveries: Rc<Cell<u64>>,
    /// The count when this stream last yielded (or was created).
    seen: u64,
}

impl Signals {
    /// Starts counting the arrivals of `sig` on the loop running on this thread.
    ///
    /// # Errors
    ///
    /// As for [`add_signal_handler`](EventLoop::add_signal_handler), and
    /// [`SignalError::NoLoop`] outside a running loop.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     assert!(tulip::signal::Signals::new(libc::SIGTERM).is_ok());
    ///     assert!(tulip::signal::Signals::new(libc::SIGSTOP).is_err());
    /// });
    /// ```
    pub fn new(sig: i32) -> Result<Signals, SignalError> {
        let lp = try_get_running_loop().ok_or(SignalError::NoLoop)?;
        let signals = LoopSignals::of(&lp)?;
        signals.watch(sig)?;
        let deliveries = {
            let mut entries = signals.entries.borrow_mut();
            let Some(entry) = entries.get_mut(&sig) else { return Err(SignalError::Invalid(sig)) };
            entry.subscribers += 1;
            entry.deliveries.clone()
        };
        let seen = deliveries.get();
        Ok(Signals { signals, sig, deliveries, seen })
    }
}

impl futures_lite::Stream for Signals {
    type Item = i32;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<i32>> {
        let now = self.deliveries.get();
        if now != self.seen {
            self.seen = now;
            return Poll::Ready(Some(self.sig));
        }
        let mut entries = self.signals.entries.borrow_mut();
        if let Some(entry) = entries.get_mut(&self.sig) {
            if !entry.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                entry.wakers.push(cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        if let Some(entry) = self.signals.entries.borrow_mut().get_mut(&self.sig) {
            entry.subscribers -= 1;
        }
        self.signals.unwatch_if_unused(self.sig);
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals").field("sig", &self.sig).field("seen", &self.seen).finish()
    }
}

/// Waits for the next arrival of `sig` on the running loop (`tulip::signal::recv(SIGTERM).await`).
///
/// The handler is installed when `recv` is called, not when the future is first polled, and
/// removed (the old disposition put back) when the future completes or is dropped. To see every
/// arrival in a loop, keep one [`Signals`] instead.
///
/// # Examples
///
/// ```
/// tulip::run(async {
///     let term = tulip::signal::recv(libc::SIGTERM);
///     // SAFETY: raising a signal that now has a handler.
///     unsafe { libc::raise(libc::SIGTERM) };
///     term.await.unwrap();
///     assert_eq!(tulip::signal::recv(libc::SIGKILL).await, Err(tulip::signal::SignalError::Uncatchable(9)));
/// });
/// ```
pub fn recv(sig: i32) -> Recv {
    Recv(Some(Signals::new(sig)))
}

/// The future of [`recv`]: `Ok(())` at the next arrival of the signal.
///
/// # Examples
///
/// ```
/// tulip::run(async {
///     let _term: tulip::signal::Recv = tulip::signal::recv(libc::SIGTERM);
/// });
/// ```
#[derive(Debug)]
#[must_use = "a Recv does nothing unless awaited"]
pub struct Recv(Option<Result<Signals, SignalError>>);

impl std::future::Future for Recv {
    type Output = Result<(), SignalError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SignalError>> {
        match self.0.as_mut() {
            Some(Ok(signals)) => match futures_lite::Stream::poll_next(Pin::new(signals), cx) {
                Poll::Ready(_) => {
                    self.0 = None;
                    Poll::Ready(Ok(()))
                }
                Poll::Pending => Poll::Pending,
            },
            Some(Err(e)) => {
                let e = e.clone();
                self.0 = None;
                Poll::Ready(Err(e))
            }
            None => Poll::Ready(Ok(())),
        }
    }
}
