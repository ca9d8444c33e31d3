//! The reactor: [`EventLoop`], its callbacks, timers, tasks and I/O readiness.
//!
//! One loop runs on one thread. Each pass of [`EventLoop::run_forever`] does what asyncio's
//! `_run_once` does:
//!
//! 1. decide how to wait ([`IdleWait`]): not at all when work is ready, else until the next timer, an
//!    fd or another thread (spinning first when only other threads can bring work);
//! 2. wait, and queue the callbacks of ready file descriptors (waking the futures waiting on them);
//! 3. queue the items other threads posted, then the due timers;
//! 4. run exactly the callbacks that were ready then; a callback scheduled during the pass waits for
//!    the next one, so a callback that reschedules itself cannot starve I/O or timers.
//!
//! Callbacks run in one order whichever way they were scheduled: a `call_soon` first moves what other
//! threads posted before it onto the ready queue (one atomic load when nothing was posted), so a
//! `call_soon_threadsafe` that was complete before a `call_soon` runs before it, as in asyncio.
//!
//! # Implementation
//!
//! Everything the loop's thread alone touches lives in `LoopInner` behind an `Rc` (the loop is `!Send`
//! and cheap to clone). What other threads touch lives in [`handle::Shared`](crate::handle) behind an
//! `Arc`: the inbox, the wakeup flags and the poller.
//!
//! A callback is one allocation: the closure sits inline in an `Rc<CallbackCell<F>>`, shared by the
//! ready queue (or the timer heap) and the [`Handle`] the caller keeps for `cancel()`.
//!
//! Timers live in a binary heap ordered by (deadline, sequence number), so equal deadlines fire in the
//! order they were scheduled; cancelled entries are purged lazily, as asyncio does (`heap.rs` states
//! the rule; it has no OS dependency, so Miri runs its tests).
//!
//! When no file descriptor is registered and the pass need not block, it skips the poller altogether:
//! a pure-callback workload makes no syscalls at all. When it must block with no file descriptor and
//! no timer (a loop that only serves other threads), it parks its thread instead of entering the
//! poller: see [`handle`](crate::handle) for how producers wake it either way.

mod heap;
pub(crate) mod io;
pub(crate) mod task;
pub(crate) mod time;
mod timer;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_task::Runnable;

use crate::error::{panic_message, RunError};
use crate::handle::{Inbound, LoopHandle, Shared};
use crate::poller::{Events, Poller};
use crate::spin::AdaptiveSpin;

pub use io::Async;
pub use task::Task;
pub use time::{sleep, timeout, Sleep, Timeout};
pub use timer::{Handle, TimerHandle};

use heap::TimerHeap;
use timer::{Callback, CallbackCell};

/// Default longest spin of a loop before it blocks (see [`EventLoop::set_idle_spin`]).
const DEFAULT_IDLE_SPIN: Duration = crate::spin::DEFAULT_LIMIT;

thread_local! {
    /// The loop running on this thread, if any.
    static CURRENT: RefCell<Option<EventLoop>> = const { RefCell::new(None) };
    /// Ids of the loops created on this thread: only this thread can ever run them.
    static LOOPS_HERE: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Whether loop `id` was created on this thread (and is not dropped): a blocking wait here for work
/// that needs that loop could never end.
pub(crate) fn loop_lives_on_this_thread(id: u64) -> bool {
    LOOPS_HERE.try_with(|l| l.borrow().contains(&id)).unwrap_or(false)
}

/// The id of the loop running on this thread, if any.
pub(crate) fn running_loop_id() -> Option<u64> {
    CURRENT.try_with(|c| c.borrow().as_ref().map(|lp| lp.inner.shared.id)).ok().flatten()
}

/// The loop running on this thread.
///
/// # Panics
///
/// When no loop runs on this thread, like asyncio's `get_running_loop` raises. Use
/// [`try_get_running_loop`] where that is expected.
///
/// # Examples
///
/// ```
/// tulip::run(async {
///     let lp = tulip::get_running_loop();
///     assert!(lp.is_running());
/// });
/// ```
#[track_caller]
pub fn get_running_loop() -> EventLoop {
    match try_get_running_loop() {
        Some(lp) => lp,
        None => panic!("tulip::get_running_loop called with no tulip event loop running on this thread"),
    }
}

/// The loop running on this thread, for a future that needs one and is being polled; `what` names
/// the future and where the user made it.
///
/// # Panics
///
/// When no loop runs here, with a message that names `what` and (through `#[track_caller]`, when
/// the poll is itself `#[track_caller]`) the caller's line, instead of a function the user never
/// called.
#[track_caller]
pub(crate) fn running_loop_for(what: fmt::Arguments<'_>) -> EventLoop {
    match try_get_running_loop() {
        Some(lp) => lp,
        None => panic!(
            "{what} was polled with no tulip event loop running on this thread: await it inside \
             tulip::run, EventLoop::run_until_complete or a task of a running loop"
        ),
    }
}

/// The loop running on this thread, or `None`.
///
/// # Examples
///
/// ```
/// assert!(tulip::try_get_running_loop().is_none());
/// tulip::run(async { assert!(tulip::try_get_running_loop().is_some()) });
/// ```
pub fn try_get_running_loop() -> Option<EventLoop> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Runs `fut` on a new loop and returns its output (asyncio's `asyncio.run`).
///
/// Afterwards, in asyncio's order, it cancels the tasks still pending and runs the loop until they
/// have stopped, shuts the default executor down with a bounded wait, and closes the loop. When `fut`
/// panics it does the same, except that the tasks are dropped without running again.
///
/// # Panics
///
/// If a loop already runs on this thread (loops do not nest; use [`EventLoop::spawn`] there), if the
/// OS refuses to create a poller, or if `fut` itself panics (the panic is passed on).
///
/// # Examples
///
/// ```
/// let v = tulip::run(async {
///     tulip::sleep(std::time::Duration::from_millis(1)).await;
///     7
/// });
/// assert_eq!(v, 7);
/// ```
#[track_caller]
pub fn run<F: Future>(fut: F) -> F::Output {
    if try_get_running_loop().is_some() {
        panic!("tulip::run cannot be called while a tulip event loop is running on this thread");
    }
    let lp = match EventLoop::new() {
        Ok(lp) => lp,
        Err(e) => panic!("tulip::run could not create an event loop: {e}"),
    };
    // Also on unwind: a leftover task holding a clone of the loop would otherwise keep it (and
    // itself) alive forever, and the default executor would never be shut down.
    let finish = FinishRun(&lp);
    let out = lp.run_until_complete(fut);
    drop(finish);
    match out {
        Ok(v) => v,
        // Unreachable: the loop is new, open and no loop runs here. Kept as a clear message.
        Err(e) => panic!("tulip::run: {e}"),
    }
}

/// Runs [`EventLoop::finish_run`] when [`run`] ends, whether by returning or by a panic.
struct FinishRun<'a>(&'a EventLoop);

impl Drop for FinishRun<'_> {
    fn drop(&mut self) {
        self.0.finish_run();
    }
}

/// What the exception handler is told.
///
/// # Examples
///
/// ```
/// let ctx = tulip::ExceptionContext::new("something failed");
/// assert_eq!(ctx.message, "something failed");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExceptionContext {
    /// What happened.
    pub message: String,
    /// The panic message, when a callback or task panicked.
    pub panic: Option<String>,
    /// Where the failing callback or task was scheduled.
    pub location: Option<&'static Location<'static>>,
}

impl ExceptionContext {
    /// A context with only a message.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// lp.call_exception_handler(tulip::ExceptionContext::new("reported by hand"));
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        ExceptionContext { message: message.into(), panic: None, location: None }
    }
}

impl fmt::Display for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(p) = &self.panic {
            write!(f, ": panicked: {p}")?;
        }
        if let Some(l) = self.location {
            write!(f, " (scheduled at {l})")?;
        }
        Ok(())
    }
}

type ExceptionHandler = Rc<dyn Fn(&EventLoop, &ExceptionContext)>;

/// An item of the ready queue.
pub(crate) enum Ready {
    Call(Rc<dyn Callback>),
    /// A persistent reader or writer callback of a file descriptor.
    Io(Rc<io::IoCallback>),
    Task(Runnable<u64>),
    Foreign(Box<dyn FnOnce() + Send>),
}

/// How a pass of the loop waits before it collects and runs what is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdleWait {
    /// Work is ready: no waiting (the poller is asked without blocking if an fd is registered).
    No,
    /// Block in the poller until an fd is ready, the timeout passes (the next timer; `None`: no
    /// timer) or another thread wakes the loop.
    Poll(Option<Duration>),
    /// No fd and no timer, so only another thread can bring work: park the thread (a futex wait and
    /// wake, lighter than an `eventfd` write and an epoll wakeup, and than `polling` off Linux).
    Park,
}

/// The loop's thread-local state.
pub(crate) struct LoopInner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) ready: RefCell<VecDeque<Ready>>,
    timers: TimerHeap,
    pub(crate) io: io::Sources,
    events: RefCell<Events>,
    /// Live tasks: owning their `async_task` handles lets `close()` drop every pending future on this
    /// thread, which `spawn_local` tasks require.
    pub(crate) tasks: RefCell<HashMap<u64, task::TaskEntry>>,
    next_task_id: Cell<u64>,
    /// Reused buffer for draining the inbox; empty between drains.
    drain_buf: RefCell<Vec<Inbound>>,
    running: Cell<bool>,
    closed: Cell<bool>,
    debug: Cell<bool>,
    slow_callback: Cell<Duration>,
    /// The spin before the loop blocks with no fd to watch (see [`EventLoop::set_idle_spin`]).
    spin: AdaptiveSpin,
    handler: RefCell<Option<ExceptionHandler>>,
    /// Values other modules attach to the loop (the default executor, for one).
    pub(crate) extensions: RefCell<Vec<Box<dyn std::any::Any>>>,
}

/// A single-threaded event loop: callbacks, timers, tasks and I/O readiness.
///
/// It is `!Send` (everything scheduled on it runs on its thread) and cheap to clone (clones share one
/// loop). Other threads use its [`LoopHandle`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let lp = tulip::EventLoop::new().unwrap();
/// lp.call_soon(|| println!("soon"));
/// lp.call_later(Duration::from_millis(1), || println!("later"));
/// let v = lp.run_until_complete(async { tulip::sleep(Duration::from_millis(2)).await; 3 }).unwrap();
/// assert_eq!(v, 3);
/// lp.close().unwrap();
/// ```
///
/// # Caveats
///
/// Tasks hold clones of the loop; a loop that is dropped without [`close`](Self::close) while tasks
/// are pending stays alive with them. [`run`](crate::run) always closes its loop.
#[derive(Clone)]
pub struct EventLoop {
    pub(crate) inner: Rc<LoopInner>,
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("id", &self.inner.shared.id)
            .field("running", &self.inner.running.get())
            .field("closed", &self.inner.closed.get())
            .finish()
    }
}

/// Wakes the future passed to `run_until_complete`, from any thread.
struct MainWaker {
    woken: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.shared.wake();
    }
}

/// Puts `CURRENT` back when a run ends, even by a panic.
struct RunGuard<'a> {
    lp: &'a EventLoop,
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.lp.inner.running.set(false);
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
    }
}

impl EventLoop {
    /// Creates a loop on this thread.
    ///
    /// Fails only if the OS refuses a poller (out of file descriptors).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new()?;
    /// assert!(!lp.is_running());
    /// # lp.close().unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> std::io::Result<EventLoop> {
        let shared = Arc::new(Shared::new(Poller::new()?));
        LOOPS_HERE.with(|l| l.borrow_mut().push(shared.id));
        Ok(EventLoop {
            inner: Rc::new(LoopInner {
                shared,
                ready: RefCell::new(VecDeque::new()),
                timers: TimerHeap::new(),
                io: io::Sources::default(),
                events: RefCell::new(Events::new()),
                tasks: RefCell::new(HashMap::new()),
                next_task_id: Cell::new(0),
                drain_buf: RefCell::new(Vec::new()),
                running: Cell::new(false),
                closed: Cell::new(false),
                debug: Cell::new(false),
                slow_callback: Cell::new(Duration::from_millis(100)),
                spin: AdaptiveSpin::new(DEFAULT_IDLE_SPIN),
                handler: RefCell::new(None),
                extensions: RefCell::new(Vec::new()),
            }),
        })
    }

    /// The thread-safe handle to this loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let h: tulip::LoopHandle = lp.handle();
    /// std::thread::spawn(move || h.stop()).join().unwrap();
    /// lp.run_forever().unwrap();
    /// ```
    pub fn handle(&self) -> LoopHandle {
        LoopHandle { shared: self.inner.shared.clone() }
    }

    /// The loop's clock (monotonic): the time base of [`call_at`](Self::call_at).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// assert!(lp.time() <= std::time::Instant::now());
    /// ```
    pub fn time(&self) -> Instant {
        Instant::now()
    }

    /// Whether the loop is running.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// assert!(!lp.is_running());
    /// assert!(lp.run_until_complete(async { tulip::get_running_loop().is_running() }).unwrap());
    /// ```
    pub fn is_running(&self) -> bool {
        self.inner.running.get()
    }

    /// Whether the loop was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// lp.close().unwrap();
    /// assert!(lp.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.closed.get()
    }

    /// Schedules `f` to run on the next pass of the loop. Callbacks run in the order scheduled.
    ///
    /// On a closed loop the callback is dropped at once and the returned handle reports
    /// `cancelled()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let h = lp.handle();
    /// lp.call_soon(move || h.stop());
    /// lp.run_forever().unwrap();
    /// ```
    #[track_caller]
    pub fn call_soon<F: FnOnce() + 'static>(&self, f: F) -> Handle {
        let cb: Rc<dyn Callback> = Rc::new(CallbackCell::new(f, Location::caller()));
        if self.inner.closed.get() {
            cb.cancel();
        } else {
            self.inner.push_ready(Ready::Call(cb.clone()));
        }
        Handle { cb }
    }

    /// Schedules `f` to run once `delay` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let h = lp.handle();
    /// let t = lp.call_later(Duration::from_millis(1), move || h.stop());
    /// assert!(!t.cancelled());
    /// lp.run_forever().unwrap();
    /// ```
    #[track_caller]
    pub fn call_later<F: FnOnce() + 'static>(&self, delay: Duration, f: F) -> TimerHandle {
        let when = Instant::now().checked_add(delay).unwrap_or_else(far_future);
        self.call_at(when, f)
    }

    /// Schedules `f` to run at `when` (on the clock of [`time`](Self::time)).
    ///
    /// Timers fire in deadline order, and in scheduling order among equal deadlines.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let h = lp.handle();
    /// lp.call_at(lp.time() + Duration::from_millis(1), move || h.stop());
    /// lp.run_forever().unwrap();
    /// ```
    #[track_caller]
    pub fn call_at<F: FnOnce() + 'static>(&self, when: Instant, f: F) -> TimerHandle {
        let cb: Rc<dyn Callback> = Rc::new(CallbackCell::new_timer(f, Location::caller()));
        if self.inner.closed.get() {
            cb.cancel();
        } else {
            self.inner.timers.push(when, cb.clone());
        }
        TimerHandle::new(cb, when, Rc::downgrade(&self.inner))
    }

    /// Runs `fut` on this loop until it completes, and returns its output.
    ///
    /// Other tasks and callbacks run meanwhile. `fut` need not be `Send` or `'static`.
    ///
    /// Fails with [`RunError::Closed`] on a closed loop, [`RunError::AlreadyRunning`] if this loop
    /// runs, [`RunError::NestedLoop`] if another loop runs on this thread, and
    /// [`RunError::Stopped`] if [`stop`](Self::stop) was called before `fut` completed. A panic in
    /// `fut` itself is passed on to the caller (the loop stays usable).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let name = String::from("borrowed");
    /// let n = lp.run_until_complete(async { name.len() }).unwrap();
    /// assert_eq!(n, 8);
    /// ```
    #[track_caller]
    pub fn run_until_complete<F: Future>(&self, fut: F) -> Result<F::Output, RunError> {
        let called_at = Location::caller();
        let _guard = self.enter()?;
        let main = Arc::new(MainWaker { woken: AtomicBool::new(true), shared: self.inner.shared.clone() });
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        // Like asyncio's task for the main coroutine, `fut` takes its turn after the callbacks that
        // were ready before the run began.
        loop {
            self.run_once(&main.woken);
            if main.woken.swap(false, Ordering::AcqRel) {
                // Timed like a task step in debug mode, as asyncio's task around the main coroutine.
                let what = |_: &_| format!("a step of the main future (run at {called_at})");
                if let Poll::Ready(v) = self.run_step(&mut cx, what, |cx| fut.as_mut().poll(cx)) {
                    return Ok(v);
                }
            }
            if self.take_stop() {
                return Err(RunError::Stopped);
            }
        }
    }

    /// Runs the loop until [`stop`](Self::stop) is called (here or through a [`LoopHandle`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let lp2 = lp.clone();
    /// lp.call_soon(move || lp2.stop());
    /// lp.run_forever().unwrap();
    /// ```
    pub fn run_forever(&self) -> Result<(), RunError> {
        let _guard = self.enter()?;
        let never = AtomicBool::new(false);
        loop {
            self.run_once(&never);
            if self.take_stop() {
                return Ok(());
            }
        }
    }

    /// Stops the loop after the current pass (asyncio's `loop.stop()`).
    ///
    /// Called while the loop is not running, it makes the next `run_forever` stop after one pass.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// lp.stop();
    /// lp.run_forever().unwrap(); // one pass, then returns
    /// ```
    pub fn stop(&self) {
        self.inner.shared.stop_requested.store(true, Ordering::Release);
    }

    fn take_stop(&self) -> bool {
        self.inner.shared.stop_requested.swap(false, Ordering::AcqRel)
    }

    fn enter(&self) -> Result<RunGuard<'_>, RunError> {
        if self.inner.closed.get() {
            return Err(RunError::Closed);
        }
        if self.inner.running.get() {
            return Err(RunError::AlreadyRunning);
        }
        if try_get_running_loop().is_some() {
            return Err(RunError::NestedLoop);
        }
        self.inner.running.set(true);
        CURRENT.with(|c| *c.borrow_mut() = Some(self.clone()));
        Ok(RunGuard { lp: self })
    }

    /// Closes the loop: cancels pending tasks (dropping their futures here), drops pending callbacks
    /// and timers, fails the futures of pending `spawn_threadsafe` calls with `LoopClosed`, shuts the
    /// default executor down without waiting (its queued jobs still run, as with asyncio's
    /// `close()`), and makes later thread-safe calls fail with [`LoopClosed`](crate::LoopClosed) and
    /// [`run_in_executor`](Self::run_in_executor) fail with `JobError::LoopClosed`.
    ///
    /// Idempotent. Fails with [`RunError::AlreadyRunning`] while the loop runs. In debug mode the
    /// tasks still pending are logged with where they were spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// lp.close().unwrap();
    /// lp.close().unwrap();
    /// assert!(lp.is_closed());
    /// ```
    pub fn close(&self) -> Result<(), RunError> {
        if self.inner.closed.get() {
            return Ok(());
        }
        if self.inner.running.get() {
            return Err(RunError::AlreadyRunning);
        }
        self.inner.close_now(true);
        Ok(())
    }

    /// Sets the handler that receives failures: panics in callbacks and tasks, errors of jobs nobody
    /// awaits. `None` restores the default, which logs them with the `log` crate.
    ///
    /// A panic inside the handler is caught and the context goes to the default handler.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let s = seen.clone();
    /// lp.set_exception_handler(Some(move |_: &tulip::EventLoop, ctx: &tulip::ExceptionContext| {
    ///     s.borrow_mut().push(ctx.panic.clone())
    /// }));
    /// lp.call_soon(|| panic!("oops"));
    /// lp.run_until_complete(async {}).unwrap();
    /// assert_eq!(seen.borrow()[0].as_deref(), Some("oops"));
    /// ```
    pub fn set_exception_handler<H>(&self, handler: Option<H>)
    where
        H: Fn(&EventLoop, &ExceptionContext) + 'static,
    {
        *self.inner.handler.borrow_mut() = handler.map(|h| Rc::new(h) as ExceptionHandler);
    }

    /// Passes `ctx` to the exception handler (the default one logs it).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// lp.call_exception_handler(tulip::ExceptionContext::new("disk almost full"));
    /// ```
    pub fn call_exception_handler(&self, ctx: ExceptionContext) {
        let handler = self.inner.handler.borrow().clone();
        match handler {
            None => Self::default_exception_handler(&ctx),
            Some(h) => {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| h(self, &ctx))) {
                    log::error!(
                        "tulip: the exception handler panicked ({}) while handling: {ctx}",
                        panic_message(&*payload)
                    );
                }
            }
        }
    }

    /// The default exception handler: logs `ctx` at error level with the `log` crate.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::EventLoop::default_exception_handler(&tulip::ExceptionContext::new("logged"));
    /// ```
    pub fn default_exception_handler(ctx: &ExceptionContext) {
        log::error!("tulip: {ctx}");
    }

    /// Turns debug mode on or off: in debug mode every callback or task step slower than
    /// [`slow_callback_duration`](Self::slow_callback_duration) is logged with where it was scheduled
    /// (a step of the future given to [`run_until_complete`](Self::run_until_complete) or
    /// [`run`](crate::run) with where that was called), and `close()` logs the tasks still pending
    /// (not those whose cancellation was requested).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// lp.set_debug(true);
    /// assert!(lp.get_debug());
    /// ```
    pub fn set_debug(&self, on: bool) {
        self.inner.debug.set(on);
    }

    /// Whether debug mode is on.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!tulip::EventLoop::new().unwrap().get_debug());
    /// ```
    pub fn get_debug(&self) -> bool {
        self.inner.debug.get()
    }

    /// The threshold above which debug mode logs a callback as slow (default 100 ms).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// assert_eq!(lp.slow_callback_duration(), std::time::Duration::from_millis(100));
    /// ```
    pub fn slow_callback_duration(&self) -> Duration {
        self.inner.slow_callback.get()
    }

    /// Sets the slow-callback threshold of debug mode.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// lp.set_slow_callback_duration(std::time::Duration::from_millis(5));
    /// ```
    pub fn set_slow_callback_duration(&self, d: Duration) {
        self.inner.slow_callback.set(d);
    }

    /// How long the loop may busy-wait for work from other threads before it blocks (default 40 µs;
    /// zero switches it off).
    ///
    /// A loop that awaits one pool job after another (or answers one call from another thread after
    /// another) otherwise blocks between them, and each completion pays a thread wakeup: a few
    /// microseconds on an idle machine, a few tens on some virtual machines, where the job itself
    /// may take less than one. Spinning a little finds the completion awake, and its producer, seeing
    /// the loop awake, makes no wakeup call at all.
    ///
    /// # Caveats
    ///
    /// The loop spins only when it would block with no file descriptor registered and no timer due
    /// within the limit (I/O readiness is not watched during a spin, so a loop with sockets blocks in
    /// the poller at once), and only while its recent waits were within the limit: when work from
    /// other threads comes slowly, or the machine is so busy that the threads it waits for rarely get
    /// a core, it blocks at once, but for a probe now and then (one wait in 8, down to one in 256 while
    /// probes keep finding long waits) that spins to find out whether spinning pays again. While it does spin it keeps one core busy for up to the limit per wait; set zero
    /// where that matters more than latency. The limit saturates at 1 ms (a longer one is stored as
    /// 1 ms), and [`set_spin_limit`](crate::set_spin_limit) caps every loop's at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// lp.set_idle_spin(std::time::Duration::ZERO);
    /// assert_eq!(lp.idle_spin(), std::time::Duration::ZERO);
    /// ```
    pub fn set_idle_spin(&self, limit: Duration) {
        self.inner.spin.set_limit(limit);
    }

    /// The longest busy-wait before the loop blocks (see [`set_idle_spin`](Self::set_idle_spin)).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// assert_eq!(lp.idle_spin(), std::time::Duration::from_micros(40));
    /// ```
    pub fn idle_spin(&self) -> Duration {
        self.inner.spin.limit()
    }

    /// The number of entries in the timer heap, cancelled ones included.
    ///
    /// Not part of the API (hidden from the docs, may change without notice). Cancelled timers are
    /// purged lazily and the heap is rebuilt when most of it is cancelled; neither has an effect a
    /// caller can see except memory, so the test suite reads this to pin both down.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let t = lp.call_later(std::time::Duration::from_secs(60), || ());
    /// t.cancel();
    /// assert_eq!(lp.timer_heap_len(), 1); // purged lazily
    /// ```
    #[doc(hidden)]
    pub fn timer_heap_len(&self) -> usize {
        self.inner.timers.len()
    }

    /// One pass, as asyncio's `_run_once`: decide how to wait, wait for I/O (or another thread),
    /// collect what became ready, run what was ready then.
    ///
    /// The spin happens only when nothing but other threads (or a timer further off than a spin)
    /// can bring work, and only while recent waits say it pays ([`AdaptiveSpin`]); the wait is
    /// measured whether it spun or not. What is scheduled while the ready callbacks run waits for
    /// the next pass, so a callback that reschedules itself cannot starve I/O or timers.
    fn run_once(&self, main_woken: &AtomicBool) {
        let inner = &*self.inner;
        let work_ready = || {
            !inner.ready.borrow().is_empty()
                || main_woken.load(Ordering::Acquire)
                || inner.shared.stop_requested.load(Ordering::Acquire)
        };
        // 1. How to wait: spin first if only other threads can bring work soon (measured either way).
        let mut wait = self.idle_wait(&work_ready);
        let spun_since = inner.spin_first(wait).then(Instant::now);
        if spun_since.is_some() {
            let found =
                inner.spin.spin(|| (work_ready() || inner.shared.inbox_looks_nonempty()).then_some(()));
            wait = if found.is_some() { IdleWait::No } else { self.idle_wait(&work_ready) };
        }
        // 2. Wait, and queue what the poller reported.
        self.wait_for_io(wait, &work_ready);
        if let Some(since) = spun_since {
            inner.spin.record(since.elapsed());
        }
        // 3. Collect what other threads posted, then the due timers.
        inner.collect_posted();
        inner.collect_due_timers();
        // 4. Run exactly what is ready now: the only place where callbacks are called.
        let ntodo = inner.ready.borrow().len();
        for _ in 0..ntodo {
            let Some(item) = inner.ready.borrow_mut().pop_front() else { break };
            self.run_step(item, |item| self.describe(item), |item| self.run_item(item));
        }
    }

    /// How a pass waits: not at all when work is ready, else until the next timer, an fd or another
    /// thread.
    fn idle_wait(&self, work_ready: &dyn Fn() -> bool) -> IdleWait {
        if work_ready() {
            return IdleWait::No;
        }
        match self.inner.next_timer_timeout() {
            Some(Duration::ZERO) => IdleWait::No,
            None if self.inner.io.is_empty() => IdleWait::Park,
            timeout => IdleWait::Poll(timeout),
        }
    }

    /// Waits as `wait` says, then queues the I/O callbacks and wakes the futures the poller reported.
    ///
    /// Before it blocks, the loop announces its sleep and looks at its work once more: a producer
    /// that pushed before seeing the announcement is found here, one that pushes after wakes it.
    fn wait_for_io(&self, wait: IdleWait, work_ready: &dyn Fn() -> bool) {
        let inner = &*self.inner;
        let shared = &*inner.shared;
        let announced = wait != IdleWait::No;
        let may_block = announced && shared.prepare_sleep(wait == IdleWait::Park) && !work_ready();
        let timeout = match wait {
            IdleWait::Poll(t) if may_block => t,
            _ => Some(Duration::ZERO),
        };
        if wait == IdleWait::Park && may_block {
            // One futex wait; woken (or spuriously), the inbox is read in the collect step.
            std::thread::park();
        }
        // With no fd registered, a wait that need not block has nothing to ask the poller.
        let polled = (!inner.io.is_empty() || timeout != Some(Duration::ZERO)).then(|| {
            let mut events = inner.events.borrow_mut();
            events.clear();
            shared.poller.wait(&mut events, timeout)
        });
        if announced {
            shared.after_sleep();
        }
        match polled {
            Some(Ok(n)) if n > 0 => self.dispatch_io(),
            Some(Err(e)) if e.kind() != std::io::ErrorKind::Interrupted => {
                self.call_exception_handler(ExceptionContext::new(format!("poller failed: {e}")))
            }
            _ => {}
        }
    }

    /// Queues the I/O callbacks of the events just polled and wakes the futures waiting on them.
    ///
    /// Wakers are woken outside every borrow (one may push onto the ready queue) and one by one, a
    /// panic caught and reported: one bad foreign waker cannot lose the others' wakeups (async-io
    /// does the same).
    fn dispatch_io(&self) {
        let inner = &*self.inner;
        let (mut callbacks, mut wakers) = (Vec::new(), Vec::new());
        inner.io.dispatch(&inner.shared.poller, &inner.events.borrow(), &mut callbacks, &mut wakers);
        inner.ready.borrow_mut().extend(callbacks.into_iter().map(Ready::Io));
        // Outside every borrow, one by one: a panicking foreign waker must not lose the others.
        for w in wakers {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| w.wake())) {
                self.report_panic("a waker panicked when woken for I/O readiness", &*payload, None);
            }
        }
    }

    /// Runs `step` on `subject`; in debug mode, logs it as `what` says if it took the slow-callback
    /// threshold or more.
    fn run_step<S, R>(&self, subject: S, what: impl FnOnce(&S) -> String, step: impl FnOnce(S) -> R) -> R {
        if !self.inner.debug.get() {
            return step(subject);
        }
        let what = what(&subject);
        let start = Instant::now();
        let out = step(subject);
        let took = start.elapsed();
        if took >= self.inner.slow_callback.get() {
            log::warn!("tulip: executing {what} took {:.3} seconds", took.as_secs_f64());
        }
        out
    }

    fn describe(&self, item: &Ready) -> String {
        match item {
            Ready::Call(cb) => format!("callback scheduled at {}", cb.location()),
            Ready::Io(_) => "an I/O callback".to_string(),
            Ready::Task(r) => {
                let id = *r.metadata();
                match self.inner.tasks.borrow().get(&id) {
                    Some(e) => format!("a step of the task spawned at {}", e.location),
                    None => "a task step".to_string(),
                }
            }
            Ready::Foreign(_) => "a callback posted with call_soon_threadsafe".to_string(),
        }
    }

    fn run_item(&self, item: Ready) {
        match item {
            Ready::Task(r) => {
                // The task wrapper catches panics of the future itself.
                r.run();
            }
            Ready::Call(cb) => {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| cb.run())) {
                    self.report_panic("exception in callback", &*payload, Some(cb.location()));
                }
            }
            Ready::Io(f) => {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| f.call())) {
                    self.report_panic("exception in I/O callback", &*payload, None);
                }
            }
            Ready::Foreign(f) => {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
                    self.report_panic("exception in call_soon_threadsafe callback", &*payload, None);
                }
            }
        }
    }

    pub(crate) fn report_panic(
        &self,
        what: &str,
        payload: &(dyn std::any::Any + Send),
        location: Option<&'static Location<'static>>,
    ) {
        self.call_exception_handler(ExceptionContext {
            message: what.to_string(),
            panic: Some(panic_message(payload)),
            location,
        });
    }

    /// End of [`run`] and of a portal's loop, in asyncio's order: cancel the tasks still pending and
    /// let them stop, shut the default executor down with a bounded wait, then close.
    ///
    /// Tasks go first because they may own what a running executor job waits for (the sender of a
    /// channel it reads): cancelled after the executor's shutdown, they would make it wait its full
    /// bound.
    pub(crate) fn finish_run(&self) {
        if std::thread::panicking() {
            // Running the loop while unwinding could panic twice (an abort): drop them unrun.
            self.inner.drop_tasks();
        } else {
            self.cancel_pending_tasks();
        }
        crate::executor::shutdown_for_run(self);
        let _ = self.close();
    }

    /// Cancels every pending task and runs the loop until they have stopped (asyncio's
    /// `_cancel_all_tasks`); they report the loop closed, as `close` would.
    ///
    /// A cancelled task stops at its next poll and `cancel` schedules it, so a pass finishes every
    /// cancelled task it finds; a pass that finishes none means the rest cannot be reached, and
    /// `close` drops them.
    fn cancel_pending_tasks(&self) {
        let Ok(_guard) = self.enter() else { return };
        let signals: Vec<_> = self.inner.tasks.borrow().values().map(|e| e.signal.clone()).collect();
        for s in &signals {
            s.cancel_for_close();
        }
        let never_block = AtomicBool::new(true);
        let mut left = self.inner.tasks.borrow().len();
        while left > 0 {
            self.run_once(&never_block);
            let now = self.inner.tasks.borrow().len();
            if now >= left {
                break;
            }
            left = now;
        }
    }
}

fn far_future() -> Instant {
    // About 30 years: "never" without overflowing Instant arithmetic.
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

impl LoopInner {
    /// Whether a pass that waits `wait` spins first: only with no fd to watch (readiness is not
    /// looked at during a spin) and no timer due within the spin.
    fn spin_first(&self, wait: IdleWait) -> bool {
        match wait {
            IdleWait::No => false,
            IdleWait::Park => true,
            IdleWait::Poll(timeout) => self.io.is_empty() && timeout.is_none_or(|t| t > self.spin.limit()),
        }
    }

    /// Moves what other threads posted onto the ready queue, in the order posted.
    fn collect_posted(&self) {
        let mut buf = self.drain_buf.borrow_mut();
        self.shared.drain_into(&mut buf);
        if !buf.is_empty() {
            self.ready.borrow_mut().extend(buf.drain(..).map(|item| match item {
                Inbound::Call(f) => Ready::Foreign(f),
                Inbound::Run(r) => Ready::Task(r),
            }));
        }
    }

    /// Queues `item` to run, after what other threads posted before (one order for `call_soon` and
    /// `call_soon_threadsafe`, as asyncio's single ready queue keeps).
    pub(crate) fn push_ready(&self, item: Ready) {
        if self.shared.inbox_looks_nonempty() {
            self.collect_posted();
        }
        self.ready.borrow_mut().push_back(item);
    }

    /// Time until the next live timer; `None` if there is none.
    fn next_timer_timeout(&self) -> Option<Duration> {
        self.timers.next_timeout(Instant::now())
    }

    /// Moves the due timers into the ready queue, in deadline order.
    fn collect_due_timers(&self) {
        if self.timers.is_empty() {
            return;
        }
        let mut ready = self.ready.borrow_mut();
        self.timers.pop_due(Instant::now(), |cb| ready.push_back(Ready::Call(cb)));
    }

    /// Counts one more cancelled timer in the heap (see [`TimerHeap::note_cancelled`]).
    pub(crate) fn timer_cancelled(&self) {
        self.timers.note_cancelled();
    }

    /// The work of `close()`; `log_pending` is false when called from `Drop`.
    fn close_now(&self, log_pending: bool) {
        self.closed.set(true);
        if log_pending && self.debug.get() {
            // A task whose cancellation was requested is on its way out, not pending.
            for entry in self.tasks.borrow().values().filter(|e| !e.signal.is_requested()) {
                log::warn!(
                    "tulip: task spawned at {} was still pending when the loop closed",
                    entry.location
                );
            }
        }
        self.drop_tasks();
        // Refuse new posts, then drop what was posted (spawn_threadsafe promises report LoopClosed).
        let posted = self.shared.inbox.close();
        drop(posted);
        let ready = std::mem::take(&mut *self.ready.borrow_mut());
        for item in &ready {
            // A `Handle` the caller kept shares the callback: cancel it so the closure is dropped
            // now (observably) and the handle reports `cancelled()`, instead of living on with it.
            if let Ready::Call(cb) = item {
                cb.cancel();
            }
        }
        drop(ready);
        self.timers.cancel_all();
        self.io.close(&self.shared.poller);
        // The default executor among them: shut down without waiting, as asyncio's `close()` does.
        let extensions = std::mem::take(&mut *self.extensions.borrow_mut());
        drop(extensions);
    }

    /// Cancels every task: dropping the handles drops the idle futures here, on the loop's thread,
    /// and marks the scheduled ones closed so they never run or reschedule.
    fn drop_tasks(&self) {
        let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        drop(tasks);
    }
}

impl Drop for LoopInner {
    fn drop(&mut self) {
        if !self.closed.get() {
            self.close_now(false);
        }
        // On the loop's thread, as the futures of tasks woken elsewhere while it closed require.
        drop(self.shared.take_strays());
        let id = self.shared.id;
        let _ = LOOPS_HERE.try_with(|l| l.borrow_mut().retain(|x| *x != id));
    }
}

/// Pushes a task onto the ready queue of the loop with id `id` if that loop runs on this thread.
pub(crate) fn push_local_runnable(id: u64, r: Runnable<u64>) -> Result<(), Runnable<u64>> {
    let res = CURRENT.try_with(|c| match &*c.borrow() {
        Some(lp) if lp.inner.shared.id == id => {
            lp.inner.push_ready(Ready::Task(r));
            Ok(())
        }
        _ => Err(r),
    });
    match res {
        Ok(inner) => inner,
        // Thread-local storage is being torn down: nothing runs here any more.
        Err(_) => Ok(()),
    }
}
