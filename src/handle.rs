//! [`LoopHandle`]: the thread-safe way into a loop, and the inbox behind it.
//!
//! An [`EventLoop`](crate::EventLoop) is `!Send`: only its own thread touches its queues. Every other
//! thread reaches it through the inbox owned here: `call_soon_threadsafe`, `spawn_threadsafe`, `stop`,
//! wakeups of tasks from foreign threads, and errors of abandoned jobs all enter the same queue.
//!
//! # Implementation
//!
//! The inbox is a `Vec` behind a mutex; the loop swaps it for an empty one in O(1), so producers never
//! wait behind a long drain, and callbacks from one producer run in the order they were posted.
//!
//! Wakeups are coalesced. Before the loop blocks it publishes how it will sleep (in the poller, or
//! parked on its thread when it has no fd and no timer to wait for) and looks at the inbox once more;
//! a producer pushes, then looks at the sleep state. Both sides put a `SeqCst` fence between their
//! write and their read (the Dekker pattern), so at least one of them sees the other: either the loop
//! finds the item and does not block, or the producer finds the loop asleep and wakes it, with
//! `Poller::notify` or `Thread::unpark` as the state says. The producer first swaps the state to
//! `NOTIFIED` with a compare-and-swap from the mode it saw, so there is one wakeup per sleep however
//! many producers race (a burst of ten thousand posts costs one syscall, not ten thousand), and a
//! producer that saw an earlier sleep's mode cannot suppress the wakeup a later sleep needs.
//!
//! The protocol itself lives in [`Inbox`] and [`Wakeup`], which make no system call: a push returns
//! the wakeup its caller must deliver ([`Sleep`]), and `Shared` delivers it. They are built on
//! `crate::sync`, so the `loom` model in `tests/loom_inbox.rs` runs this very code, with the park
//! token and the poller's notification modelled.
//!
//! Parking instead of polling matters for the latency of a loop that only serves other threads: a
//! park is one futex wait, where a wake through the poller is an `eventfd` write and an epoll wakeup
//! (and, where the `polling` crate is the poller, off Linux, more calls to re-arm its notifier).
//! Timed sleeps stay in the poller, precise to the nanosecond on Linux 5.11+ (`epoll_pwait2`). The
//! park token is the thread's own, shared with whatever else parks on the loop's thread (std's
//! channels, for one): a stray `unpark` at most makes one of them wake spuriously, which they, like
//! the loop, tolerate.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_task::Runnable;

use crate::error::{JobError, LoopClosed};
use crate::future::{self, ConcurrentFuture, Options};
use crate::poller::Poller;
use crate::sync::{fence, lock, AtomicBool, AtomicU8, Mutex};

/// `Wakeup::state`: the loop is running (or about to check the inbox and not block).
const AWAKE: u8 = 0;
/// The loop blocks (or is about to) in `Poller::wait`: wake it with `Poller::notify`.
const POLLING: u8 = 1;
/// The loop blocks (or is about to) in `thread::park`: wake it with `Thread::unpark`.
const PARKED: u8 = 2;
/// A producer has woken the current sleep; later producers need not.
const NOTIFIED: u8 = 3;

/// How the loop sleeps, and so how a producer must wake it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sleep {
    /// Blocked in `Poller::wait`: woken by `Poller::notify`.
    Poller,
    /// Parked on its thread: woken by `Thread::unpark`.
    Park,
}

/// The sleep half of the wakeup protocol: one atomic saying how the loop sleeps, claimed by the one
/// producer that wakes it.
///
/// It makes no system call itself: [`claim`](Self::claim) says which wakeup the caller must deliver,
/// so the same code runs in the loop and in the `loom` model (`tests/loom_inbox.rs`), where parking
/// and the poller are modelled.
pub struct Wakeup {
    /// One of `AWAKE`, `POLLING`, `PARKED` (written by the loop thread before and after each sleep)
    /// or `NOTIFIED` (written by the producer that wakes it, by a compare-and-swap from the mode it
    /// saw).
    state: AtomicU8,
}

impl fmt::Debug for Wakeup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wakeup").finish_non_exhaustive()
    }
}

impl Wakeup {
    fn new() -> Wakeup {
        Wakeup { state: AtomicU8::new(AWAKE) }
    }

    /// Producer side, once its item is visible to the loop: the wakeup to deliver, if the loop may
    /// be sleeping and nobody has woken this sleep yet.
    #[inline]
    pub fn claim(&self) -> Option<Sleep> {
        // Orders the caller's push before the read of the state (the Dekker pattern, with the fence
        // in `announce`).
        fence(Ordering::SeqCst);
        let mode = self.state.load(Ordering::Relaxed);
        if (mode == POLLING || mode == PARKED)
            && self.state.compare_exchange(mode, NOTIFIED, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        {
            Some(if mode == POLLING { Sleep::Poller } else { Sleep::Park })
        } else {
            None
        }
    }

    /// Loop side, before it looks at its queue a last time and blocks: publishes how it will sleep.
    #[inline]
    pub fn announce(&self, how: Sleep) {
        self.state.store(if how == Sleep::Park { PARKED } else { POLLING }, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// Loop side, once awake again (or after deciding not to block).
    #[inline]
    pub fn awake(&self) {
        #[cfg(not(loom))]
        self.state.store(AWAKE, Ordering::Relaxed);
        // The same effect in the C++ memory model, spelled so that loom sees it: a producer's
        // compare-and-swap that took `POLLING`/`PARKED` immediately follows that value in the
        // modification order, so this later store of the loop's comes after it. loom tracks the
        // order of a plain store only against the stores its thread has seen, so it would let a
        // producer read `NOTIFIED` after the next announcement and report a lost wakeup that cannot
        // happen; a swap is ordered after every write it could race with, in loom as on hardware.
        #[cfg(loom)]
        self.state.swap(AWAKE, Ordering::Relaxed);
    }
}

/// What other threads hand to the loop.
pub(crate) enum Inbound {
    /// A `call_soon_threadsafe` callback (also `stop`, error reports, `spawn_threadsafe`).
    Call(Box<dyn FnOnce() + Send>),
    /// A task woken on another thread.
    Run(Runnable<u64>),
}

/// The queue behind a [`Mutex`].
struct Queue<T> {
    items: Vec<T>,
    /// Set once by `close()`; from then on every push fails and the loop no longer drains.
    closed: bool,
}

/// The thread-safe inbox of a loop: a queue and the [`Wakeup`] that goes with it.
///
/// Generic over the item so that the `loom` model can run this very code with items of its own.
pub struct Inbox<T> {
    queue: Mutex<Queue<T>>,
    /// Whether `queue` holds items: set by a push, cleared by a drain or close, both under the lock.
    /// What the loop reads where a hint is enough (a spin, a `call_soon`) instead of locking.
    nonempty: AtomicBool,
    wakeup: Wakeup,
}

impl<T> Inbox<T> {
    /// An empty, open inbox; the loop is awake.
    pub fn new() -> Inbox<T> {
        Inbox {
            queue: Mutex::new(Queue { items: Vec::new(), closed: false }),
            nonempty: AtomicBool::new(false),
            wakeup: Wakeup::new(),
        }
    }

    /// Queues `item`; returns the wakeup the caller must deliver, or the item if the inbox is closed.
    #[inline]
    pub fn push(&self, item: T) -> Result<Option<Sleep>, T> {
        {
            let mut q = lock(&self.queue);
            if q.closed {
                return Err(item);
            }
            q.items.push(item);
            self.nonempty.store(true, Ordering::Release);
        }
        Ok(self.wakeup.claim())
    }

    /// The wakeup to deliver for a change other than a push (a waker's flag), if the loop sleeps.
    #[inline]
    pub fn claim_wakeup(&self) -> Option<Sleep> {
        self.wakeup.claim()
    }

    /// Loop side, before it blocks `how`: returns whether the inbox is empty, in which case the loop
    /// may block (any later push will claim a wakeup).
    #[inline]
    pub fn prepare_sleep(&self, how: Sleep) -> bool {
        self.wakeup.announce(how);
        lock(&self.queue).items.is_empty()
    }

    /// Loop side, once awake again (or after deciding not to block).
    #[inline]
    pub fn after_sleep(&self) {
        self.wakeup.awake();
    }

    /// Whether something is queued, without locking: a hint for a loop that spins before it blocks
    /// (which then goes through [`prepare_sleep`](Self::prepare_sleep) anyway), exact for a push
    /// that happened before the call.
    #[inline]
    pub fn looks_nonempty(&self) -> bool {
        self.nonempty.load(Ordering::Acquire)
    }

    /// Moves every queued item into `out` (which the loop keeps empty between drains).
    #[inline]
    pub fn drain_into(&self, out: &mut Vec<T>) {
        let mut q = lock(&self.queue);
        if !q.items.is_empty() {
            std::mem::swap(&mut q.items, out);
            self.nonempty.store(false, Ordering::Relaxed);
        }
    }

    /// Refuses every later push and returns what was queued.
    pub fn close(&self) -> Vec<T> {
        let mut q = lock(&self.queue);
        q.closed = true;
        self.nonempty.store(false, Ordering::Relaxed);
        std::mem::take(&mut q.items)
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        lock(&self.queue).closed
    }
}

impl<T> Default for Inbox<T> {
    fn default() -> Self {
        Inbox::new()
    }
}

impl<T> fmt::Debug for Inbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox").finish_non_exhaustive()
    }
}

/// The part of a loop that other threads may touch.
pub(crate) struct Shared {
    /// Unique per loop in this process; the deadlock guard compares it with the loops of a thread.
    pub(crate) id: u64,
    pub(crate) inbox: Inbox<Inbound>,
    /// The loop's thread, for `unpark` (an `EventLoop` is `!Send`: it runs where it was created).
    loop_thread: std::thread::Thread,
    /// Set by `stop()` from any thread; the loop takes it after its current iteration.
    pub(crate) stop_requested: std::sync::atomic::AtomicBool,
    pub(crate) poller: Poller,
    /// Tasks woken on another thread at the instant the loop closed, too late for the inbox: their
    /// futures may only be dropped on the loop's thread, which drops them when the loop goes away.
    strays: std::sync::Mutex<Vec<Runnable<u64>>>,
}

impl Shared {
    pub(crate) fn new(poller: Poller) -> Shared {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            inbox: Inbox::new(),
            loop_thread: std::thread::current(),
            stop_requested: std::sync::atomic::AtomicBool::new(false),
            poller,
            strays: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Keeps a task's runnable that arrived after `close` on another thread (see `strays`).
    pub(crate) fn keep_stray(&self, r: Runnable<u64>) {
        lock(&self.strays).push(r);
    }

    /// The runnables kept by [`keep_stray`](Self::keep_stray), for the loop's thread to drop.
    pub(crate) fn take_strays(&self) -> Vec<Runnable<u64>> {
        std::mem::take(&mut *lock(&self.strays))
    }

    /// Queues `item` for the loop and wakes it if it may be sleeping.
    ///
    /// On a closed loop the item comes back, so the caller can drop it where that is safe.
    pub(crate) fn push(&self, item: Inbound) -> Result<(), Inbound> {
        let wakeup = self.inbox.push(item)?;
        self.deliver(wakeup);
        Ok(())
    }

    /// Wakes the loop if it may be sleeping; at most one wakeup per sleep.
    pub(crate) fn wake(&self) {
        self.deliver(self.inbox.claim_wakeup());
    }

    #[inline]
    fn deliver(&self, wakeup: Option<Sleep>) {
        match wakeup {
            None => {}
            // A failed notify leaves the loop to its timeout; nothing better can be done here.
            Some(Sleep::Poller) => {
                let _ = self.poller.notify();
            }
            Some(Sleep::Park) => self.loop_thread.unpark(),
        }
    }

    /// Whether other threads may have queued something (see [`Inbox::looks_nonempty`]).
    pub(crate) fn inbox_looks_nonempty(&self) -> bool {
        self.inbox.looks_nonempty()
    }

    /// Called by the loop before it blocks, `parked` telling how; returns whether the inbox is empty,
    /// in which case the loop may block (any later push will wake it).
    pub(crate) fn prepare_sleep(&self, parked: bool) -> bool {
        self.inbox.prepare_sleep(if parked { Sleep::Park } else { Sleep::Poller })
    }

    /// Called by the loop once it is awake again (or decided not to block after all).
    pub(crate) fn after_sleep(&self) {
        self.inbox.after_sleep();
    }

    /// Moves every queued item into `out` (which the loop keeps empty between drains).
    pub(crate) fn drain_into(&self, out: &mut Vec<Inbound>) {
        self.inbox.drain_into(out);
    }
}

/// A `Send + Sync` handle to an [`EventLoop`](crate::EventLoop), for other threads.
///
/// Get it with [`EventLoop::handle`](crate::EventLoop::handle). It is cheap to clone and keeps only
/// the loop's inbox alive, not the loop.
///
/// # Examples
///
/// ```
/// let lp = tulip::EventLoop::new().unwrap();
/// let handle = lp.handle();
/// std::thread::spawn(move || {
///     handle.call_soon_threadsafe(|| println!("on the loop")).unwrap();
///     handle.stop();
/// });
/// lp.run_forever().unwrap();
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle").field("id", &self.shared.id).finish()
    }
}

impl LoopHandle {
    /// Schedules `f` to run on the loop's thread, soon.
    ///
    /// Callbacks posted from one thread run in the order posted. Wakes the loop if it sleeps.
    ///
    /// Returns `Err(LoopClosed)` once the loop is closed. A callback accepted before `close()` either
    /// runs or is dropped by `close()` (its captured values are dropped then, which a caller can
    /// observe, for instance through a channel sender it captured).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let h = lp.handle();
    /// let h2 = h.clone();
    /// h.call_soon_threadsafe(move || h2.stop()).unwrap();
    /// lp.run_forever().unwrap();
    /// ```
    pub fn call_soon_threadsafe<F>(&self, f: F) -> Result<(), LoopClosed>
    where
        F: FnOnce() + Send + 'static,
    {
        self.shared.push(Inbound::Call(Box::new(f))).map_err(|_| LoopClosed)
    }

    /// Stops the loop after its current iteration, waking it if it sleeps.
    ///
    /// Unlike asyncio's `loop.stop()` called from another thread, this works: the loop is woken.
    /// Stopping a loop that is not running makes its next `run_forever` return after one iteration.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let h = lp.handle();
    /// let t = std::thread::spawn(move || h.stop());
    /// lp.run_forever().unwrap();
    /// t.join().unwrap();
    /// ```
    pub fn stop(&self) {
        self.shared.stop_requested.store(true, Ordering::Release);
        // An empty call wakes a sleeping loop through the ordinary, race-free inbox path.
        let _ = self.shared.push(Inbound::Call(Box::new(|| {})));
    }

    /// Whether the loop was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let h = lp.handle();
    /// assert!(!h.is_closed());
    /// lp.close().unwrap();
    /// assert!(h.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.inbox.is_closed()
    }

    /// Runs `fut` as a task on the loop, from any thread (asyncio's `run_coroutine_threadsafe`).
    ///
    /// The returned [`ConcurrentFuture`] can be awaited on any runtime or waited on from blocking code.
    /// Its [`cancel`](ConcurrentFuture::cancel) cancels the task on the loop, and it reports
    /// `Cancelled` only once the task has really stopped (its future was dropped). Closing the loop
    /// fails it with [`JobError::LoopClosed`]. Waiting on it from the loop's own thread fails at once
    /// with [`JobError::WouldDeadlock`]. With the `tracing` feature, the task runs in the span current
    /// at this call.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let h = lp.handle();
    /// let t = std::thread::spawn(move || {
    ///     let v = h.spawn_threadsafe(async { 40 + 2 }).wait();
    ///     h.stop();
    ///     v
    /// });
    /// lp.run_forever().unwrap();
    /// assert_eq!(t.join().unwrap(), Ok(42));
    /// ```
    #[track_caller]
    pub fn spawn_threadsafe<F>(&self, fut: F) -> ConcurrentFuture<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_threadsafe_with(move || fut)
    }

    /// Like [`spawn_threadsafe`](Self::spawn_threadsafe), but `make` builds the future on the loop's
    /// thread, so the future itself need not be `Send`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let h = lp.handle();
    /// let t = std::thread::spawn(move || {
    ///     // Rc is !Send: the future is built on the loop thread.
    ///     let v = h.spawn_threadsafe_with(|| async { *Rc::new(5) }).wait();
    ///     h.stop();
    ///     v
    /// });
    /// lp.run_forever().unwrap();
    /// assert_eq!(t.join().unwrap(), Ok(5));
    /// ```
    #[track_caller]
    pub fn spawn_threadsafe_with<M, F>(&self, make: M) -> ConcurrentFuture<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let cancel = Arc::new(crate::reactor::task::CancelSignal::default());
        let canceller = cancel.clone();
        let (promise, fut) = future::pair(Options {
            canceller: Some(Box::new(move || canceller.cancel())),
            needs_loop: Some(self.shared.id),
            running: true,
            drop_error: JobError::LoopClosed,
        });
        // Debug mode reports the task where the user called, not where the loop spawns it.
        let location = std::panic::Location::caller();
        // The span current here, on the caller's thread, not the loop's.
        #[cfg(feature = "tracing")]
        let make = {
            let span = tracing::Span::current();
            move || tracing::Instrument::instrument(make(), span)
        };
        let posted = self.call_soon_threadsafe(move || {
            crate::reactor::task::spawn_for_promise(make, promise, cancel, location);
        });
        // On a closed loop the callback (and with it the promise) was dropped: the future already
        // reports LoopClosed.
        let _ = posted;
        fut
    }

    /// Sends an error report to the loop's exception handler from any thread; logs it if the loop is
    /// closed.
    pub(crate) fn report_error_threadsafe(&self, message: String) {
        let msg = message.clone();
        let posted = self.call_soon_threadsafe(move || {
            if let Some(lp) = crate::reactor::try_get_running_loop() {
                lp.call_exception_handler(crate::ExceptionContext::new(msg));
            } else {
                log::error!("tulip: {msg}");
            }
        });
        if posted.is_err() {
            log::error!("tulip: {message}");
        }
    }
}
