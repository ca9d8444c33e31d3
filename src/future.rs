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
//!   Queued ──start()──▶ Running ──complete()──▶ [Completing] ──▶ Done ──take──▶ Taken
//!     │                    │
//!     └─cancel()/drop──────┴─(canceller)─────────────────────▶ Done(Err(Cancelled))
//! ```
//!
//! `cancel()` wins only in `Queued` (the job never runs) unless the producer installed a canceller for the
//! running state (a loop task that can be dropped, a process that can be killed, a job that polls its
//! [`CancelToken`]). When a canceller accepts, the future is marked so that whatever the job returns
//! afterwards, it reports `Err(Cancelled)`: `cancel()` returning `true` always means "no value". The
//! condvar is signalled only when a thread is actually blocked in `wait`, so the common path of a
//! completion awaited by a task costs one lock and one wake.
//!
//! `Completing` is the short window in which done-callbacks run outside the lock: the outcome is decided
//! (nothing can cancel it any more) but not yet visible, so waiters keep waiting and a callback added
//! meanwhile is queued and run by the same completing thread. A callback added after `Done` runs the
//! same way, the state going back to `Completing` while it borrows the outcome; the future still
//! counts as done then (`settled`).

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
/// Stops a running job; `true` if it will stop (see [`Options::canceller`]).
pub type Canceller = Box<dyn Fn() -> bool + Send + Sync>;

enum State<T> {
    /// Created, not yet picked up by a worker; `cancel()` succeeds here.
    Queued,
    /// A worker is running the job; only the canceller (if any) can stop it.
    Running,
    /// The outcome is decided and done-callbacks are running on the completing thread (outside the
    /// lock); the outcome is stored as `Done` when they return.
    Completing,
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
    /// A canceller accepted a `cancel()` while the job was running: whatever the job returns, the
    /// outcome is `Err(Cancelled)` (an error it returns instead is reported, not lost).
    cancel_accepted: bool,
    /// The outcome was stored once: a `Completing` state from then on is a late done-callback
    /// borrowing it, and the future counts as done.
    settled: bool,
    /// The decided outcome is `Err(Cancelled)`: what `cancel()` answers once the outcome is decided
    /// (true: it will not produce a value), even after the outcome was taken.
    outcome_cancelled: bool,
    /// The loop that must run for this future to complete (`spawn_threadsafe`, or a job waiting on
    /// its loop for room in a pool's queue), for the deadlock guard of `wait`. Under the lock because
    /// the executor sets and clears it after the pair is made.
    needs_loop: Option<u64>,
    /// A blocking `wait` on this thread fails with `WouldDeadlock` while the job is not done: the
    /// thread that alone completes the job (a process pool's driver, running done-callbacks).
    needs_thread: Option<std::thread::ThreadId>,
    /// Told once, outside the lock, when the consumer gives the job up before its outcome is decided
    /// (cancels it while queued, or drops the future): a producer holding queued work elsewhere can
    /// drop it at once instead of finding it later.
    unwanted: Option<Box<dyn FnOnce() + Send>>,
    /// What a blocking `wait` may do itself while it waits (see [`Help`]); `None`: it blocks.
    #[cfg(not(loom))]
    helper: Option<std::sync::Arc<dyn Help>>,
    /// Set while a thread helps (see [`Help`]): called once, outside the lock, when the outcome
    /// is stored, to end that thread's wait for its producer.
    #[cfg(not(loom))]
    helping: Option<std::sync::Arc<dyn Fn() + Send + Sync>>,
}

/// Work a thread blocked in [`ConcurrentFuture::wait`] can do itself, instead of sleeping until
/// the producer's thread is woken and completes the job: for a result from a remote worker, the
/// process pool's driver would be woken by the link and would then wake the waiter, two wakeups
/// where the waiter reading the link itself pays one (see the process pool's `driver::help`).
#[cfg(not(loom))]
pub(crate) trait Help: Send + Sync {
    /// A wake-up for [`help`](Help::help) on the calling thread, called when the job is done
    /// (by whichever thread completes it); `None`: this thread cannot help.
    fn wake_for_this_thread(&self) -> Option<std::sync::Arc<dyn Fn() + Send + Sync>>;
    /// Blocks until the job may have moved on (or that wake-up, or `deadline`), and moves it on;
    /// `false` once this thread can help no more (its wait then blocks as usual).
    fn help(&self, deadline: Option<Instant>) -> bool;
    /// Called once after the last `help` of a wait.
    fn end(&self);
}

struct Shared<T> {
    inner: Mutex<Inner<T>>,
    cond: Condvar,
    /// Set by `cancel()` and by dropping the future; what a [`CancelToken`] reads without locking.
    cancel_requested: AtomicBool,
    /// How to stop the job once it runs; `None` means a running job cannot be stopped.
    canceller: Option<Canceller>,
    /// Where an error goes when nobody waits for it any more: the loop running where the job was
    /// submitted, if any (else the `log` crate).
    report_to: Option<LoopHandle>,
    /// What a consumer sees when the promise is dropped without completing.
    drop_error: JobError,
    /// Set once `state` is `Done`: what a spinning `wait` looks at without locking. (Not in the
    /// `loom` model, where `wait` does not spin.)
    #[cfg(not(loom))]
    done: std::sync::atomic::AtomicBool,
}

/// How a [`Promise`]/[`ConcurrentFuture`] pair behaves; set by the producer that creates it.
///
/// (`pub` only so that the `loom` model can build pairs; the module is private.)
#[allow(missing_debug_implementations)]
pub struct Options {
    /// Called by `cancel()` while the job runs; returns `true` if the job will stop. Once it has
    /// accepted, the future reports `Err(Cancelled)` whatever the job returns.
    pub canceller: Option<Canceller>,
    /// The id of the loop that must run for the job to finish (deadlock guard of `wait`).
    pub needs_loop: Option<u64>,
    /// Start in `Running` (the job is already under way, e.g. a task on a loop).
    pub running: bool,
    /// The outcome a consumer sees if the promise is dropped without completing.
    pub drop_error: JobError,
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
#[allow(missing_debug_implementations)]
pub struct Promise<T> {
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
/// while pool.stats().running == 0 { std::thread::yield_now(); }
/// assert!(fut.cancel());
/// assert_eq!(fut.wait(), Err(tulip::JobError::Cancelled));
/// ```
pub struct CancelToken {
    /// Reads the job's `cancel_requested` flag. A closure over the job's `Arc<Shared<T>>` rather than an
    /// `Arc<dyn ..>`, because `loom`'s `Arc` cannot be coerced to a trait object.
    flag: Box<dyn Fn() -> bool + Send + Sync>,
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
        (self.flag)()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken").field("cancelled", &self.is_cancelled()).finish()
    }
}

/// The spin of blocking waits, shared by all of them: a hint of how soon outcomes come lately.
#[cfg(not(loom))]
static WAIT_SPIN: crate::spin::AdaptiveSpin = crate::spin::AdaptiveSpin::new(crate::spin::DEFAULT_LIMIT);

/// Creates a connected pair with the given behaviour.
pub fn pair<T: Send + 'static>(opts: Options) -> (Promise<T>, ConcurrentFuture<T>) {
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            state: if opts.running { State::Running } else { State::Queued },
            waker: None,
            callbacks: Vec::new(),
            abandoned: false,
            blocked: 0,
            cancel_accepted: false,
            settled: false,
            outcome_cancelled: false,
            needs_loop: opts.needs_loop,
            needs_thread: None,
            unwanted: None,
            #[cfg(not(loom))]
            helper: None,
            #[cfg(not(loom))]
            helping: None,
        }),
        cond: Condvar::new(),
        cancel_requested: AtomicBool::new(false),
        canceller: opts.canceller,
        report_to: report_target(),
        drop_error: opts.drop_error,
        #[cfg(not(loom))]
        done: std::sync::atomic::AtomicBool::new(false),
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

impl<T> Inner<T> {
    /// Whether a blocking wait on this thread could never end: the job is not done and needs this
    /// thread's loop, or this very thread, to finish.
    fn blocks_this_thread(&self) -> bool {
        matches!(self.state, State::Queued | State::Running)
            && (self.needs_loop.is_some_and(crate::reactor::loop_lives_on_this_thread)
                || self.needs_thread.is_some_and(|t| t == std::thread::current().id()))
    }
}

impl<T> Shared<T> {
    /// Stores the outcome and notifies everyone, unless an outcome is already decided.
    ///
    /// Returns `false` if the future was already done (it was cancelled first).
    fn finish(&self, result: Result<T, JobError>, publishing: &mut dyn FnMut()) -> bool {
        self.finish_locked(lock(&self.inner), result, publishing)
    }

    /// Fails the job with `err` if it is still queued; `true` if it will not run.
    fn revoke(&self, err: JobError) -> bool {
        let inner = lock(&self.inner);
        match inner.state {
            State::Queued => {
                self.cancel_requested.store(true, Ordering::Release);
                self.finish_locked(inner, Err(err), &mut || ())
            }
            _ => false,
        }
    }

    /// Fails the job with `err` if it is running, setting its cancel flag; `true` if it did.
    fn fail_running(&self, err: JobError) -> bool {
        let inner = lock(&self.inner);
        match inner.state {
            State::Running => {
                self.cancel_requested.store(true, Ordering::Release);
                self.finish_locked(inner, Err(err), &mut || ())
            }
            _ => false,
        }
    }

    /// `finish` with the lock already held, so a state check and the transition are one step.
    fn finish_locked<'a>(
        &'a self,
        inner: MutexGuard<'a, Inner<T>>,
        result: Result<T, JobError>,
        publishing: &mut dyn FnMut(),
    ) -> bool {
        if matches!(inner.state, State::Completing | State::Done(_) | State::Taken) {
            return false;
        }
        // An error nobody will see: the consumer dropped its future while the job ran, or cancelled it
        // (and was promised `Cancelled`), and no done-callback is there to receive it.
        let (result, unseen_error) = match result {
            Ok(v) if inner.cancel_accepted => {
                drop(v);
                (Err(JobError::Cancelled), None)
            }
            Err(e) if inner.cancel_accepted && e != JobError::Cancelled => {
                let note = format!("a job cancelled while running failed: {e}");
                (Err(JobError::Cancelled), Some(note))
            }
            Err(e) if inner.abandoned && inner.callbacks.is_empty() && e != JobError::Cancelled => {
                let note = format!("a job whose future was dropped failed: {e}");
                (Err(e), Some(note))
            }
            other => (other, None),
        };
        self.settle(inner, result, publishing);
        if let Some(message) = unseen_error {
            match &self.report_to {
                Some(handle) => handle.report_error_threadsafe(message),
                None => log::error!("tulip: {message}"),
            }
        }
        true
    }

    /// Runs the pending done-callbacks outside the lock, then stores the outcome and wakes the task and
    /// the threads waiting for it.
    ///
    /// The state reads `Completing` while callbacks run, so `cancel` cannot slip in and waiters keep
    /// waiting; a callback added meanwhile is picked up by the next round of the loop. `publishing`
    /// runs after the last callback, under the lock, just before the outcome becomes visible.
    fn settle<'a>(
        &'a self,
        mut inner: MutexGuard<'a, Inner<T>>,
        result: Result<T, JobError>,
        publishing: &mut dyn FnMut(),
    ) {
        inner.outcome_cancelled = matches!(result, Err(JobError::Cancelled));
        loop {
            let callbacks = std::mem::take(&mut inner.callbacks);
            if callbacks.is_empty() {
                break;
            }
            inner.state = State::Completing;
            drop(inner);
            for cb in callbacks {
                run_callback(cb, &result);
            }
            inner = lock(&self.inner);
        }
        publishing();
        inner.state = State::Done(result);
        inner.settled = true;
        #[cfg(not(loom))]
        self.done.store(true, std::sync::atomic::Ordering::Release);
        let waker = inner.waker.take();
        let blocked = inner.blocked > 0;
        #[cfg(not(loom))]
        let (helping, _helper) = (inner.helping.take(), inner.helper.take());
        drop(inner);
        if blocked {
            self.cond.notify_all();
        }
        #[cfg(not(loom))]
        if let Some(wake) = helping {
            wake();
        }
        if let Some(w) = waker {
            w.wake();
        }
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
    pub fn start(&self) -> bool {
        let Some(shared) = &self.shared else { return false };
        let mut inner = lock(&shared.inner);
        match inner.state {
            State::Queued => {
                inner.state = State::Running;
                true
            }
            State::Running => true,
            State::Completing | State::Done(_) | State::Taken => false,
        }
    }

    /// Whether the consumer cancelled or dropped the future.
    // For producers that poll instead of taking a token (the process-pool driver, loop tasks).
    #[allow(dead_code)]
    pub fn is_cancelled(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| s.cancel_requested.load(Ordering::Acquire))
    }

    /// A token that reads this job's cancellation flag.
    pub fn token(&self) -> CancelToken {
        match self.shared.clone() {
            Some(shared) => {
                CancelToken { flag: Box::new(move || shared.cancel_requested.load(Ordering::Acquire)) }
            }
            // Only a completed promise has no shared state; its job is not wanted any more.
            None => CancelToken { flag: Box::new(|| true) },
        }
    }

    /// Whether the outcome is already decided (cancelled while queued, or completed).
    #[allow(dead_code)]
    pub fn is_done(&self) -> bool {
        self.shared
            .as_ref()
            .is_none_or(|s| matches!(lock(&s.inner).state, State::Completing | State::Done(_) | State::Taken))
    }

    /// Completes the future; `false` if it was already done (cancelled first).
    ///
    /// If a canceller accepted a `cancel()` while the job ran, the future reports `Err(Cancelled)`
    /// instead of `result` (an error in `result` is then reported to the exception handler).
    pub fn complete(self, result: Result<T, JobError>) -> bool {
        self.complete_then(result, &mut || ())
    }

    /// [`complete`](Self::complete), calling `publishing` after the done-callbacks have run and just
    /// before the outcome becomes visible (not at all if the future was already done). A pool worker
    /// takes its scheduling role there: after every piece of user code, before the submitter it wakes.
    pub fn complete_then(mut self, result: Result<T, JobError>, publishing: &mut dyn FnMut()) -> bool {
        match self.shared.take() {
            Some(shared) => shared.finish(result, publishing),
            None => false,
        }
    }
}

impl<T: Send + 'static> Promise<T> {
    /// A detached way to fail the running job now with an error, as if it had returned it (and to set
    /// its token); the job's own outcome, when it comes, is then dropped. `None` if the job is done.
    /// For a run-time limit that fires while the job still holds its promise.
    pub(crate) fn failer(&self) -> Option<Box<dyn Fn(JobError) -> bool + Send + Sync>> {
        let shared = self.shared.clone()?;
        Some(Box::new(move |err| shared.fail_running(err)))
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            let err = shared.drop_error.clone();
            shared.finish(Err(err), &mut || ());
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
    /// loop's thread, or a [`run_in_executor`](crate::EventLoop::run_in_executor) job still waiting
    /// on its loop for room in a full pool queue), or on a process pool's driver thread (in a
    /// done-callback) for a task of that pool.
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
        // A deadline too far to represent is no deadline.
        self.wait_inner(Some(Instant::now().checked_add(timeout)))
    }

    /// `deadline`: `None` waits forever; `Some(None)` is a deadline too far away to represent.
    fn wait_inner(&mut self, deadline: Option<Option<Instant>>) -> Option<Result<T, JobError>> {
        let shared = &*self.shared;
        {
            let inner = lock(&shared.inner);
            if inner.blocks_this_thread() {
                return Some(Err(JobError::WouldDeadlock));
            }
            if !matches!(inner.state, State::Queued | State::Running | State::Completing) {
                drop(inner);
                return self.wait_locked(deadline);
            }
        }
        #[cfg(not(loom))]
        if self.help(deadline) {
            return self.wait_locked(deadline);
        }
        // Pending: spin a little before blocking, so that a job ending within microseconds is found
        // without a wakeup (see `crate::spin`), unless the deadline is nearer than a spin.
        #[cfg(not(loom))]
        {
            let since = Instant::now();
            let room = match deadline {
                Some(Some(d)) => d.saturating_duration_since(since) > WAIT_SPIN.limit(),
                _ => true,
            };
            if room {
                let done = || shared.done.load(std::sync::atomic::Ordering::Acquire).then_some(());
                WAIT_SPIN.spin(done);
            }
            let outcome = self.wait_locked(deadline);
            // Only waits that could have spun and that ended with the outcome say how soon outcomes
            // come: a poll with a zero timeout would drag the shared average to nothing.
            if room && outcome.is_some() {
                WAIT_SPIN.record(since.elapsed());
            }
            outcome
        }
        #[cfg(loom)]
        self.wait_locked(deadline)
    }

    /// Lets the job's helper move it on from this thread (see [`Help`]) until it is done, `deadline`
    /// passes, or the helper can do no more; `false` if there is no helper to try.
    #[cfg(not(loom))]
    fn help(&self, deadline: Option<Option<Instant>>) -> bool {
        let shared = &*self.shared;
        let deadline = deadline.flatten();
        let Some(helper) = lock(&shared.inner).helper.clone() else { return false };
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        let Some(wake) = helper.wake_for_this_thread() else { return false };
        while deadline.is_none_or(|d| Instant::now() < d) {
            {
                // Checked and registered under one lock: a completion after this wakes the help.
                let mut inner = lock(&shared.inner);
                if !matches!(inner.state, State::Queued | State::Running | State::Completing) {
                    break;
                }
                inner.helping = Some(wake.clone());
            }
            let more = helper.help(deadline);
            lock(&shared.inner).helping = None;
            if !more {
                break;
            }
        }
        helper.end();
        true
    }

    /// Lets a blocking wait do `helper`'s work while the job is pending (see [`Help`]).
    #[cfg(not(loom))]
    #[cfg_attr(not(waiter_help), allow(dead_code))] // only remote process-pool workers have helpers
    pub(crate) fn set_helper(&self, helper: std::sync::Arc<dyn Help>) {
        let mut inner = lock(&self.shared.inner);
        if matches!(inner.state, State::Queued | State::Running) {
            inner.helper = Some(helper);
        }
    }

    /// Blocks on the condvar until the outcome is there or `deadline` passes.
    fn wait_locked(&mut self, deadline: Option<Option<Instant>>) -> Option<Result<T, JobError>> {
        let shared = &*self.shared;
        let mut inner = lock(&shared.inner);
        loop {
            match std::mem::replace(&mut inner.state, State::Taken) {
                State::Done(r) => return Some(r),
                State::Taken => return Some(Err(JobError::ResultTaken)),
                pending => inner.state = pending,
            }
            inner.blocked += 1;
            let (guard, timed_out) = match deadline {
                None | Some(None) => (shared.cond.wait(inner).unwrap_or_else(|e| e.into_inner()), false),
                Some(Some(d)) => {
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
            if timed_out && matches!(inner.state, State::Queued | State::Running | State::Completing) {
                return None;
            }
        }
    }

    /// Cancels the job; `true` if it will not produce a value (so `true` again on a future already
    /// cancelled, as concurrent.futures answers).
    ///
    /// A job still queued is removed and never runs. A running job is stopped only where that is
    /// possible: a process-pool task has its worker killed, a task on a loop is cancelled there (and the
    /// future reports `Cancelled` once the task has really stopped), a job with a [`CancelToken`] sees
    /// its token set. A plain running thread-pool job cannot be stopped, and `cancel` returns `false`.
    ///
    /// When `cancel` returns `true` the future's outcome is `Err(JobError::Cancelled)`, even if the job
    /// still returns a value; an error the job returns after that goes to the exception handler.
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
        let mut inner = lock(&shared.inner);
        match inner.state {
            State::Queued => {
                shared.cancel_requested.store(true, Ordering::Release);
                let unwanted = inner.unwanted.take();
                let cancelled = shared.finish_locked(inner, Err(JobError::Cancelled), &mut || ());
                if let Some(f) = unwanted {
                    f();
                }
                cancelled
            }
            State::Running => {
                let Some(canceller) = &shared.canceller else { return false };
                if inner.cancel_accepted {
                    return true;
                }
                shared.cancel_requested.store(true, Ordering::Release);
                // Accept first: the job may finish (because of this very cancel) before the canceller
                // returns, and its outcome must then be `Cancelled`, so that `true` always means so.
                inner.cancel_accepted = true;
                // The canceller may be slow (killing a process) or touch this future: call it unlocked.
                drop(inner);
                if canceller() {
                    return true;
                }
                // Refused: take the acceptance back if the job still runs; if it finished meanwhile,
                // its outcome was already turned into `Cancelled`.
                let mut inner = lock(&shared.inner);
                if matches!(inner.state, State::Running) {
                    inner.cancel_accepted = false;
                    false
                } else {
                    true
                }
            }
            State::Completing | State::Done(_) | State::Taken => inner.outcome_cancelled,
        }
    }

    /// Fails the job with `err` only if it is still queued (never asks a canceller); `true` if it
    /// will not run.
    ///
    /// For a producer taking back a job it could not hand over (a pool that shut down meanwhile, or
    /// could start no thread).
    pub(crate) fn revoke(&self, err: JobError) -> bool {
        self.shared.revoke(err)
    }

    /// `revoke` as a detached closure, for a producer that keeps the job after handing the future
    /// out (a job waiting for room in a bounded queue).
    pub(crate) fn revoker(&self) -> Box<dyn Fn(JobError) -> bool + Send + Sync> {
        let shared = self.shared.clone();
        Box::new(move |err| shared.revoke(err))
    }

    /// A setter for the loop this future needs (`None`: none): a blocking `wait` on that loop's
    /// thread fails with `WouldDeadlock` while it is set and the job is not done.
    pub(crate) fn loop_guard(&self) -> impl Fn(Option<u64>) + 'static {
        let shared = self.shared.clone();
        move |id| lock(&shared.inner).needs_loop = id
    }

    /// For a producer whose one `thread` completes the job (and so runs its done-callbacks) and
    /// that can skip work not started: a blocking `wait` on `thread` fails with `WouldDeadlock`
    /// while the job is not done, and `unwanted` is called once (on the consumer's thread) if the
    /// job is cancelled while queued or its future is dropped before the outcome is decided.
    pub(crate) fn guard_producer(&self, thread: std::thread::ThreadId, unwanted: Box<dyn FnOnce() + Send>) {
        let mut inner = lock(&self.shared.inner);
        inner.needs_thread = Some(thread);
        inner.unwanted = Some(unwanted);
    }

    /// Whether a blocking wait for this future on this thread could never end (see [`wait`](Self::wait)).
    pub(crate) fn would_deadlock(&self) -> bool {
        lock(&self.shared.inner).blocks_this_thread()
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
        let inner = lock(&self.shared.inner);
        match inner.state {
            State::Done(_) | State::Taken => true,
            // A late done-callback borrows the stored outcome: still done.
            State::Completing => inner.settled,
            State::Queued | State::Running => false,
        }
    }

    /// Calls `f` with the outcome once the job is done: at once (on this thread) if it already is,
    /// otherwise on the thread that completes it.
    ///
    /// The callback must be quick: it runs on a pool worker or a loop. A panic in it is logged and does
    /// not harm the job or the worker. Added after the outcome was taken (by `wait_timeout` or a
    /// poll), it receives `Err(JobError::ResultTaken)`.
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
        match inner.state {
            // The completing thread runs every callback queued before it stores the outcome.
            State::Queued | State::Running | State::Completing => inner.callbacks.push(Box::new(f)),
            State::Done(_) => {
                // Run it here, outside the lock (it may use this future), with the outcome borrowed in
                // place: `settle` moves the state through `Completing` and back to `Done`.
                let State::Done(result) = std::mem::replace(&mut inner.state, State::Completing) else {
                    return;
                };
                inner.callbacks.push(Box::new(f));
                self.shared.settle(inner, result, &mut || ());
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
        let unwanted = inner.unwanted.take();
        match inner.state {
            State::Queued => {
                // Nobody wants it: the job is skipped when a worker reaches it.
                shared.cancel_requested.store(true, Ordering::Release);
                shared.finish_locked(inner, Err(JobError::Cancelled), &mut || ());
            }
            State::Running => {
                shared.cancel_requested.store(true, Ordering::Release);
                inner.abandoned = true;
                inner.waker = None;
                drop(inner);
            }
            // The outcome is decided; done-callbacks (if any) receive it.
            State::Completing | State::Done(_) | State::Taken => return,
        }
        if let Some(f) = unwanted {
            f();
        }
    }
}

impl<T> fmt::Debug for ConcurrentFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match lock(&self.shared.inner).state {
            State::Queued => "queued",
            State::Running | State::Completing => "running",
            State::Done(Ok(_)) => "done",
            State::Done(Err(_)) => "failed",
            State::Taken => "taken",
        };
        f.debug_struct("ConcurrentFuture").field("state", &state).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::mpsc::{channel, Receiver, Sender};

    /// A helper that tells the test when it helps, and blocks until it is woken.
    struct Blocking {
        entered: Mutex<Sender<()>>,
        woken: Mutex<Receiver<()>>,
        wake: Mutex<Sender<()>>,
        ended: AtomicBool,
        /// A help was never woken.
        missed: AtomicBool,
    }

    impl Help for Blocking {
        fn wake_for_this_thread(&self) -> Option<std::sync::Arc<dyn Fn() + Send + Sync>> {
            let wake = Mutex::new(lock(&self.wake).clone());
            Some(std::sync::Arc::new(move || {
                let _ = lock(&wake).send(());
            }))
        }

        fn help(&self, _deadline: Option<Instant>) -> bool {
            let _ = lock(&self.entered).send(());
            let woken = lock(&self.woken).recv_timeout(Duration::from_secs(10)).is_ok();
            self.missed.fetch_or(!woken, Ordering::AcqRel);
            woken
        }

        fn end(&self) {
            self.ended.store(true, Ordering::Release);
        }
    }

    #[test]
    fn a_helping_waiter_is_woken_when_another_thread_completes_the_job() {
        let (promise, fut) = pair::<u32>(Options { running: true, ..Options::default() });
        let (entered_tx, entered) = channel();
        let (wake, woken) = channel();
        let helper = std::sync::Arc::new(Blocking {
            entered: Mutex::new(entered_tx),
            woken: Mutex::new(woken),
            wake: Mutex::new(wake),
            ended: AtomicBool::new(false),
            missed: AtomicBool::new(false),
        });
        fut.set_helper(helper.clone());
        let completer = std::thread::spawn(move || {
            entered.recv().unwrap();
            promise.complete(Ok(7));
        });
        assert_eq!(fut.wait(), Ok(7));
        completer.join().unwrap();
        assert!(!helper.missed.load(Ordering::Acquire), "the completion woke the help");
        assert!(helper.ended.load(Ordering::Acquire), "the helper is told the wait ended");
    }
}
