//! [`ConcurrentFuture`]: the one completion object shared by a worker, the loop and blocking code.
//!
//! A job's producer (a pool worker, the process-pool driver, a task on a loop) holds the [`Promise`];
//! every consumer holds the same [`ConcurrentFuture`], which it may `.await` on any runtime, `wait()` on
//! in blocking code, or hang callbacks on. There is no second future chained behind the first: the
//! worker's `complete` is the moment the awaiting task is woken and the blocked thread returns.
//!
//! # Implementation
//!
//! One `Mutex` guards the state machine, one `Condvar` serves blocking waiters:
//!
//! ```text
//!   Queued ──start()──▶ Running ──complete()──▶ Done ──take──▶ Taken
//!     │                    │
//!     └─cancel()/drop──────┴─(canceller)──────▶ Done(Err(Cancelled))
//! ```
//!
//! `cancel()` wins only in `Queued` (the job never runs) unless the producer installed a canceller for the
//! running state (a loop task that can be dropped, a process that can be killed, a job that polls its
//! [`CancelToken`]). The condvar is signalled only when a thread is actually blocked in `wait`, so the
//! common path of a completion awaited by a task costs one lock and one wake.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::JobError;
use crate::handle::LoopHandle;
use crate::sync::{lock, Arc, AtomicBool, Condvar, Mutex, MutexGuard};

type DoneCallback<T> = Box<dyn FnOnce(&Result<T, JobError>) + Send>;
type Canceller = Box<dyn Fn() -> bool + Send + Sync>;

enum State<T> {
    /// Created, not yet picked up by a worker; `cancel()` succeeds here.
    Queued,
    /// A worker is running the job; only the canceller (if any) can stop it.
    Running,
    /// The outcome, not yet taken.
    Done(Result<T, JobError>),
    /// The outcome was moved out to a consumer.
    Taken,
}

struct Inner<T> {
    state: State<T>,
    /// The waker of the last poll; woken once, at completion.
    waker: Option<Waker>,
    /// Run once, on the completing thread (or at once if added after completion).
    callbacks: Vec<DoneCallback<T>>,
    /// The consumer dropped its future while the job was running: an error then has nobody to go to
    /// but the exception handler.
    abandoned: bool,
    /// Threads blocked in `wait`/`wait_timeout`; the condvar is signalled only when this is non-zero.
    blocked: usize,
}

struct Shared<T> {
    inner: Mutex<Inner<T>>,
    cond: Condvar,
    /// Set by `cancel()` and by dropping the future; what a [`CancelToken`] reads without locking.
    cancel_requested: AtomicBool,
    /// How to stop the job once it runs; `None` means a running job cannot be stopped.
    canceller: Option<Canceller>,
    /// The loop that must run for this future to complete (`spawn_threadsafe`), for the deadlock guard.
    needs_loop: Option<u64>,
    /// Where an error goes when nobody waits for it any more: the loop running where the job was
    /// submitted, if any (else the `log` crate).
    report_to: Option<LoopHandle>,
    /// What a consumer sees when the promise is dropped without completing.
    drop_error: JobError,
}

/// How a [`Promise`]/[`ConcurrentFuture`] pair behaves; set by the producer that creates it.
pub(crate) struct Options {
    pub(crate) canceller: Option<Canceller>,
    pub(crate) needs_loop: Option<u64>,
    pub(crate) running: bool,
    pub(crate) drop_error: JobError,
}

impl Default for Options {
    fn default() -> Self {
        Options { canceller: None, needs_loop: None, running: false, drop_error: JobError::ShutDown }
    }
}

/// The result of a job that runs elsewhere: on a pool thread, in a worker process, or on a loop.
///
/// It is a [`Future`] that any runtime can await (tulip's loop, tokio, smol,
/// [`futures_lite::future::block_on`]), and it can be waited on from blocking code. It mirrors
/// Python's `concurrent.futures.Future`: [`wait`](Self::wait) (`result()`),
/// [`wait_timeout`](Self::wait_timeout) (`result(timeout)`), [`cancel`](Self::cancel),
/// [`is_done`](Self::is_done), [`add_done_callback`](Self::add_done_callback).
///
/// Dropping it detaches the job: a job still queued is removed and never runs; a job already running
/// goes on (a thread cannot be killed) and, if it then fails, its error goes to the exception handler of
/// the loop it was submitted from, so no failure is silent.
///
/// # Examples
///
/// ```
/// let pool = tulip::ThreadPool::builder().max_workers(2).build().unwrap();
/// let fut = pool.submit(|| 6 * 7).unwrap();
/// assert_eq!(fut.wait(), Ok(42));
///
/// // The same object is a Future for any runtime.
/// let fut = pool.submit(|| "hi").unwrap();
/// assert_eq!(futures_lite::future::block_on(fut), Ok("hi"));
/// ```
#[must_use = "dropping a ConcurrentFuture detaches its job; a queued job is removed"]
pub struct ConcurrentFuture<T> {
    shared: Arc<Shared<T>>,
}

/// The producer's side of a [`ConcurrentFuture`].
///
/// Dropping it without [`complete`](Self::complete) completes the future with the pair's drop error, so
/// a consumer never waits for a producer that is gone.
pub(crate) struct Promise<T> {
    shared: Option<Arc<Shared<T>>>,
}

/// A flag a job can poll to learn that its result is no longer wanted.
///
/// It turns to `true` when the job's [`ConcurrentFuture`] is cancelled or dropped. Jobs submitted with
/// [`ThreadPool::submit_with_token`](crate::ThreadPool::submit_with_token) receive one.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let pool = tulip::ThreadPool::builder().build().unwrap();
/// let fut = pool.submit_with_token(|tok| {
///     while !tok.is_cancelled() {
///         std::thread::sleep(Duration::from_millis(1));
///     }
///     "stopped"
/// }).unwrap();
/// while pool.stats().active == 0 { std::thread::yield_now(); }
/// assert!(fut.cancel());
/// assert_eq!(fut.wait(), Err(tulip::JobError::Cancelled));
/// ```
pub struct CancelToken {
    flag: Arc<dyn TokenFlag>,
}

trait TokenFlag: Send + Sync {
    fn get(&self) -> bool;
}

impl<T: Send> TokenFlag for Shared<T> {
    fn get(&self) -> bool {
        self.cancel_requested.load(Ordering::Acquire)
    }
}

impl CancelToken {
    /// Whether the job's result is no longer wanted (its future was cancelled or dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let fut = pool.submit_with_token(|tok| tok.is_cancelled()).unwrap();
    /// assert_eq!(fut.wait(), Ok(false));
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.flag.get()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken").field("cancelled", &self.is_cancelled()).finish()
    }
}

/// Creates a connected pair with the given behaviour.
pub(crate) fn pair<T: Send + 'static>(opts: Options) -> (Promise<T>, ConcurrentFuture<T>) {
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            state: if opts.running { State::Running } else { State::Queued },
            waker: None,
            callbacks: Vec::new(),
            abandoned: false,
            blocked: 0,
        }),
        cond: Condvar::new(),
        cancel_requested: AtomicBool::new(false),
        canceller: opts.canceller,
        needs_loop: opts.needs_loop,
        report_to: report_target(),
        drop_error: opts.drop_error,
    });
    (Promise { shared: Some(shared.clone()) }, ConcurrentFuture { shared })
}

#[cfg(not(loom))]
fn report_target() -> Option<LoopHandle> {
    crate::reactor::try_get_running_loop().map(|lp| lp.handle())
}

#[cfg(loom)]
fn report_target() -> Option<LoopHandle> {
    None
}

impl<T> Shared<T> {
    /// Stores the outcome and notifies everyone, unless an outcome is already there.
    ///
    /// Returns `false` if the future was already done (it was cancelled first).
    fn finish(&self, result: Result<T, JobError>) -> bool {
        self.finish_locked(lock(&self.inner), result)
    }

    /// Stores the outcome, then wakes the task and the threads waiting for it.
    fn store_done<'a>(&'a self, mut inner: MutexGuard<'a, Inner<T>>, result: Result<T, JobError>) {
        inner.state = State::Done(result);
        let waker = inner.waker.take();
        let blocked = inner.blocked > 0;
        drop(inner);
        if blocked {
            self.cond.notify_all();
        }
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// `finish` with the lock already held, so a state check and the transition are one step.
    fn finish_locked<'a>(&'a self, mut inner: MutexGuard<'a, Inner<T>>, result: Result<T, JobError>) -> bool {
        if matches!(inner.state, State::Done(_) | State::Taken) {
            return false;
        }
        let callbacks = std::mem::take(&mut inner.callbacks);
        let orphaned_error = match (&result, inner.abandoned) {
            (Err(e), true) if *e != JobError::Cancelled => Some(e.clone()),
            _ => None,
        };
        if !callbacks.is_empty() {
            // Callbacks run outside the lock (they may touch this future); the state says "running"
            // meanwhile, so `cancel` cannot slip in, and the outcome is stored right after.
            inner.state = State::Running;
            drop(inner);
            for cb in callbacks {
                run_callback(cb, &result);
            }
            inner = lock(&self.inner);
        }
        self.store_done(inner, result);
        if let Some(err) = orphaned_error {
            let message = format!("a job whose future was dropped failed: {err}");
            match &self.report_to {
                Some(handle) => handle.report_error_threadsafe(message),
                None => log::error!("tulip: {message}"),
            }
        }
        true
    }
}

/// Runs a done-callback; a panic in it is caught and logged, never propagated into the worker.
fn run_callback<T>(cb: DoneCallback<T>, result: &Result<T, JobError>) {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(result)));
    if let Err(payload) = r {
        log::error!("tulip: a done-callback panicked: {}", crate::error::panic_message(&*payload));
    }
}

impl<T: Send + 'static> Promise<T> {
    /// Moves the job from queued to running; `false` means it was cancelled and must not run.
    pub(crate) fn start(&self) -> bool {
        let Some(shared) = &self.shared else { return false };
        let mut inner = lock(&shared.inner);
        match inner.state {
            State::Queued => {
                inner.state = State::Running;
                true
            }
            State::Running => true,
            State::Done(_) | State::Taken => false,
        }
    }

    /// Whether the consumer cancelled or dropped the future.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| s.cancel_requested.load(Ordering::Acquire))
    }

    /// A token that reads this job's cancellation flag.
    pub(crate) fn token(&self) -> Option<CancelToken> {
        self.shared.as_ref().map(|s| CancelToken { flag: s.clone() as Arc<dyn TokenFlag> })
    }

    /// Whether the outcome is already decided (cancelled while queued, or completed).
    pub(crate) fn is_done(&self) -> bool {
        self.shared.as_ref().map_or(true, |s| matches!(lock(&s.inner).state, State::Done(_) | State::Taken))
    }

    /// Completes the future; `false` if it was already done (cancelled first).
    pub(crate) fn complete(mut self, result: Result<T, JobError>) -> bool {
        match self.shared.take() {
            Some(shared) => shared.finish(result),
            None => false,
        }
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            let err = shared.drop_error.clone();
            shared.finish(Err(err));
        }
    }
}

impl<T: Send + 'static> ConcurrentFuture<T> {
    /// A future that is already complete with `result`.
    ///
    /// Useful where an answer is known without running anything (an IP literal needs no resolver).
    ///
    /// # Examples
    ///
    /// ```
    /// let f = tulip::ConcurrentFuture::ready(Ok(3));
    /// assert!(f.is_done());
    /// assert_eq!(f.wait(), Ok(3));
    /// ```
    pub fn ready(result: Result<T, JobError>) -> Self {
        let (promise, fut) = pair(Options::default());
        promise.complete(result);
        fut
    }

    /// Blocks the calling thread until the job is done, and returns its outcome.
    ///
    /// Returns `Err(JobError::WouldDeadlock)` at once when called on the thread of the loop that must
    /// run for this future to complete (a [`LoopHandle::spawn_threadsafe`] future waited on its own
    /// loop's thread).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// assert_eq!(pool.submit(|| 1 + 1).unwrap().wait(), Ok(2));
    /// ```
    pub fn wait(mut self) -> Result<T, JobError> {
        match self.wait_inner(None) {
            Some(r) => r,
            // Unreachable without a deadline; report rather than panic.
            None => Err(JobError::ResultTaken),
        }
    }

    /// Blocks for at most `timeout`; `None` means the job is not done yet and the future stays usable.
    ///
    /// `Some(outcome)` takes the outcome out; later waits or polls return `Err(JobError::ResultTaken)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let mut fut = pool.submit(|| std::thread::sleep(Duration::from_millis(50))).unwrap();
    /// assert_eq!(fut.wait_timeout(Duration::ZERO), None);
    /// assert_eq!(fut.wait_timeout(Duration::from_secs(10)), Some(Ok(())));
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Result<T, JobError>> {
        self.wait_inner(Some(Instant::now() + timeout))
    }

    fn wait_inner(&mut self, deadline: Option<Instant>) -> Option<Result<T, JobError>> {
        let shared = &*self.shared;
        let mut inner = lock(&shared.inner);
        if matches!(inner.state, State::Queued | State::Running) {
            if let Some(id) = shared.needs_loop {
                if crate::reactor::loop_lives_on_this_thread(id) {
                    return Some(Err(JobError::WouldDeadlock));
                }
            }
        }
        loop {
            match std::mem::replace(&mut inner.state, State::Taken) {
                State::Done(r) => return Some(r),
                State::Taken => return Some(Err(JobError::ResultTaken)),
                pending => inner.state = pending,
            }
            inner.blocked += 1;
            let (guard, timed_out) = match deadline {
                None => (shared.cond.wait(inner).unwrap_or_else(|e| e.into_inner()), false),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        inner.blocked -= 1;
                        return None;
                    }
                    let (g, t) = shared.cond.wait_timeout(inner, left).unwrap_or_else(|e| e.into_inner());
                    (g, t.timed_out())
                }
            };
            inner = guard;
            inner.blocked -= 1;
            if timed_out && matches!(inner.state, State::Queued | State::Running) {
                return None;
            }
        }
    }

    /// Cancels the job; `true` if it will not produce a value.
    ///
    /// A job still queued is removed and never runs. A running job is stopped only where that is
    /// possible: a process-pool task has its worker killed, a task on a loop is cancelled there (and the
    /// future reports `Cancelled` once the task has really stopped), a job with a [`CancelToken`] sees
    /// its token set. A plain running thread-pool job cannot be stopped, and `cancel` returns `false`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = tulip::ThreadPool::builder().max_workers(1).build().unwrap();
    /// let busy = pool.submit(|| std::thread::sleep(Duration::from_millis(100))).unwrap();
    /// let queued = pool.submit(|| 1).unwrap();
    /// assert!(queued.cancel());
    /// assert_eq!(queued.wait(), Err(tulip::JobError::Cancelled));
    /// busy.wait().unwrap();
    /// ```
    pub fn cancel(&self) -> bool {
        let shared = &*self.shared;
        let inner = lock(&shared.inner);
        match inner.state {
            State::Queued => {
                shared.cancel_requested.store(true, Ordering::Release);
                shared.finish_locked(inner, Err(JobError::Cancelled))
            }
            State::Running => {
                drop(inner);
                match &shared.canceller {
                    Some(canceller) => {
                        shared.cancel_requested.store(true, Ordering::Release);
                        canceller()
                    }
                    None => false,
                }
            }
            State::Done(_) | State::Taken => false,
        }
    }

    /// Whether the job is done (completed, failed or cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// let f = tulip::ConcurrentFuture::ready(Ok(()));
    /// assert!(f.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        matches!(lock(&self.shared.inner).state, State::Done(_) | State::Taken)
    }

    /// Calls `f` with the outcome once the job is done: at once (on this thread) if it already is,
    /// otherwise on the thread that completes it.
    ///
    /// The callback must be quick: it runs on a pool worker or a loop. A panic in it is logged and does
    /// not harm the job or the worker.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let fut = pool.submit(|| 5).unwrap();
    /// fut.add_done_callback(move |r| tx.send(*r.as_ref().unwrap()).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 5);
    /// ```
    pub fn add_done_callback<F>(&self, f: F)
    where
        F: FnOnce(&Result<T, JobError>) + Send + 'static,
    {
        let mut inner = lock(&self.shared.inner);
        match &inner.state {
            State::Queued | State::Running => inner.callbacks.push(Box::new(f)),
            State::Done(r) => {
                // Run outside the lock: the callback may use this future.
                let r = match r {
                    Ok(_) => None,
                    Err(e) => Some(e.clone()),
                };
                match r {
                    None => {
                        // Borrow the value in place; the callback gets a reference, not a copy.
                        let State::Done(ok) = std::mem::replace(&mut inner.state, State::Running) else {
                            return;
                        };
                        drop(inner);
                        run_callback(Box::new(f), &ok);
                        self.shared.store_done(lock(&self.shared.inner), ok);
                    }
                    Some(e) => {
                        drop(inner);
                        run_callback(Box::new(f), &Err(e));
                    }
                }
            }
            State::Taken => {
                drop(inner);
                run_callback(Box::new(f), &Err(JobError::ResultTaken));
            }
        }
    }
}

impl<T: Send + 'static> Future for ConcurrentFuture<T> {
    type Output = Result<T, JobError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = lock(&self.shared.inner);
        match std::mem::replace(&mut inner.state, State::Taken) {
            State::Done(r) => Poll::Ready(r),
            State::Taken => Poll::Ready(Err(JobError::ResultTaken)),
            pending => {
                inner.state = pending;
                match &mut inner.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for ConcurrentFuture<T> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        let mut inner = lock(&shared.inner);
        match inner.state {
            State::Queued => {
                // Nobody wants it: the job is skipped when a worker reaches it.
                shared.cancel_requested.store(true, Ordering::Release);
                shared.finish_locked(inner, Err(JobError::Cancelled));
            }
            State::Running => {
                shared.cancel_requested.store(true, Ordering::Release);
                inner.abandoned = true;
                inner.waker = None;
            }
            State::Done(_) | State::Taken => {}
        }
    }
}

impl<T> fmt::Debug for ConcurrentFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match lock(&self.shared.inner).state {
            State::Queued => "queued",
            State::Running => "running",
            State::Done(Ok(_)) => "done",
            State::Done(Err(_)) => "failed",
            State::Taken => "taken",
        };
        f.debug_struct("ConcurrentFuture").field("state", &state).finish()
    }
}
