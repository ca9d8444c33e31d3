//! [`ThreadPool`]: threads for blocking work, Python's `concurrent.futures.ThreadPoolExecutor`.
//!
//! This module owns the thread pool: its builder ([`builder`]), its workers, queue, parking and
//! shutdown ([`core`]), the ordered `map` iterator ([`map`]), run-time limits ([`limit`]) and
//! per-worker state ([`state`]). Every job comes back as a
//! [`ConcurrentFuture`], which blocking code can `wait()` on and async code (tulip's loop, tokio, smol,
//! `block_on`) can `.await`. The loop's `run_in_executor` and `to_thread` hand their work to a pool like
//! this one. What a user sees (lifecycle of a job, shutdown modes, caveats) is documented on
//! [`ThreadPool`].
//!
//! # Implementation
//!
//! Jobs go through one `crossbeam-channel` queue (bounded if [`queue_capacity`] is set). A worker that
//! has just run a job and finds the queue empty spins for [`idle_spin`] (at most one worker at a time;
//! it takes that role after its job and the job's done-callbacks have returned, just before the
//! completion becomes visible, so a submitter reacting to the completion already sees it, and a
//! long callback never leaves the role held by a worker that is not looking; and only while its recent waits for a job fitted in that window, so a
//! slow trickle of jobs or an overloaded machine does not pay for spinning), then parks on a stack of
//! idle workers. A submit pushes the job, then wakes somebody only if needed: nobody if a worker is
//! spinning (no syscall at all), else the most recently parked worker (LIFO: the hot threads stay hot,
//! the cold ones at the bottom time out after [`idle_timeout`] and exit), else a new thread if the pool is
//! below `max_workers`. A spinner that finds a job with more queued behind it wakes the next worker, so
//! a burst fans out to all threads without a wakeup per job. Threads start only when jobs need them.
//! A submitter that had to wake or start a worker does not spin for that job's outcome (see
//! `crate::spin`): it comes a wakeup later at the earliest.
//!
//! The races between a submit and a worker going to sleep, retiring, or the pool shutting down are
//! closed by the Dekker pattern: each side writes its own flag (job pushed / worker registered as
//! sleeping), issues a `SeqCst` fence, then reads the other's. Whichever comes second sees the first.
//!
//! [`queue_capacity`]: ThreadPoolBuilder::queue_capacity
//! [`idle_spin`]: ThreadPoolBuilder::idle_spin
//! [`idle_timeout`]: ThreadPoolBuilder::idle_timeout

mod builder;
mod core;
mod limit;
mod map;
mod state;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use self::builder::ThreadPoolBuilder;
pub use self::map::PoolMap;
pub(crate) use self::map::Window;

use self::core::{Job, Shared, Task};
use crate::error::{JobError, SubmitError};
use crate::future::{pair, CancelToken, ConcurrentFuture, Options, Promise};
use crate::pool::{PoolStats, ShutdownReport};

/// A pool of threads for blocking work: Python's `concurrent.futures.ThreadPoolExecutor`.
///
/// Made with [`ThreadPool::builder`] (see [`ThreadPoolBuilder`] for the settings and their defaults).
/// Cloning gives another handle to the same pool; the pool shuts down (without blocking) when the last
/// handle is dropped.
///
/// # Examples
///
/// ```
/// use tulip::{JobError, ThreadPool};
///
/// let pool = ThreadPool::builder().max_workers(4).build()?;
/// let len = pool.submit(|| std::fs::read("Cargo.toml").map(|b| b.len()))?;
/// let boom = pool.submit(|| -> u32 { panic!("boom") })?;
/// assert!(len.wait()?.is_ok());
/// assert!(matches!(boom.wait(), Err(JobError::Panicked(m)) if m == "boom"));
///
/// // Ordered results with a bounded number of jobs in flight.
/// let squares: Vec<u64> = pool.map(|x: u64| x * x, 1..=5).map(Result::unwrap).collect();
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
/// assert!(pool.shutdown_timeout(std::time::Duration::MAX).is_complete());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
///
/// # Lifecycle of a job
///
/// A job is *queued*, then *running* on one worker, then *done*. Cancellation is honest about what a
/// thread can do:
///
/// - Cancelling or dropping the future of a **queued** job removes it: it never runs.
/// - A **running** job cannot be stopped from outside. Dropping its future abandons it: the job runs to
///   its end, keeps its worker (the pool's slot stays counted in `running`) until then, and if it fails
///   its error goes to the exception handler of the loop it was submitted from (or to the `log` crate),
///   never nowhere. A job submitted with [`ThreadPool::submit_with_token`] receives a [`CancelToken`]
///   to poll; `cancel()` on its future sets the token, returns `true`, and the future reports
///   `Err(JobError::Cancelled)` when the job returns.
/// - A job submitted with [`ThreadPool::submit_with_limit`] has a run-time limit counted from its
///   start: at the limit its token is set and its future fails with `JobError::TimedOut` at once; the
///   thread stays busy (counted in `running`) until the job returns.
/// - A **panic** in a job is caught: the future gets `Err(JobError::Panicked(message))` and the worker
///   goes on with the next job. (The panic hook still prints the panic, as for any thread.)
///
/// # Shutdown
///
/// | call | new jobs | queued jobs | running jobs | blocks |
/// |---|---|---|---|---|
/// | [`shutdown()`](ThreadPool::shutdown) | refused | still run | run to their end | no |
/// | [`shutdown_timeout(d)`](ThreadPool::shutdown_timeout) | refused | run until `d`, then fail with `JobError::ShutDown` | run to their end | at most `d`; reports what it left |
/// | `shutdown_timeout(Duration::ZERO)` | refused | fail with `JobError::ShutDown` now | run to their end | no |
/// | `shutdown_timeout(Duration::MAX)` | refused | still run | run to their end | until all are done |
/// | dropping the last `ThreadPool` clone | refused | still run | run to their end | no |
///
/// Refused means `Err(SubmitError::ShutDown)` from `submit`. After a shutdown, workers finish what
/// they have, take what is left in the queue, and exit; idle ones exit at once. Dropping a pool never
/// blocks (it is `shutdown()`), so it cannot hang on a job that never ends, the way a pool that joins
/// its threads on drop can.
///
/// [`SubmitError::ShutDown`]: crate::SubmitError::ShutDown
///
/// # Caveats
///
/// - A thread cannot be killed, so `shutdown_timeout` and dropping a pool leave a job that never ends
///   running on its (detached) thread; use a process pool for jobs that must be killable.
/// - `stats().queued` counts the jobs in the queue, including cancelled ones a worker has not reached
///   yet (they are skipped, and counted in `cancelled`, when it does).
/// - `submit` on a full bounded queue blocks the calling thread; don't call it on a loop's thread (use
///   [`ThreadPool::submit_async`] or [`ThreadPool::try_submit`]) nor from the pool's own jobs when all
///   workers could end up waiting for each other.
/// - Workers are woken most-recent-first and one of them briefly spins after each job (see
///   [`ThreadPoolBuilder::idle_spin`]): an idle pool costs nothing, a busy one up to 40 µs of CPU per
///   idle gap.
#[derive(Clone)]
pub struct ThreadPool {
    handle: Arc<PoolHandle>,
}

/// Owned by the `ThreadPool` clones (workers hold `Shared` directly): dropping the last clone closes
/// the pool, so workers can leave instead of waiting forever for jobs nobody can submit.
struct PoolHandle {
    shared: Arc<Shared>,
}

impl Drop for PoolHandle {
    fn drop(&mut self) {
        self.shared.close(None);
    }
}

impl ThreadPool {
    /// Starts configuring a pool; see [`ThreadPoolBuilder`] for the settings and their defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// assert_eq!(pool.submit(|| "done").unwrap().wait(), Ok("done"));
    /// ```
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder::new()
    }

    fn from_shared(shared: Shared) -> ThreadPool {
        ThreadPool { handle: Arc::new(PoolHandle { shared: Arc::new(shared) }) }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// Creates a job's promise and future; a token job's running state is cancellable.
    fn new_pair<T: Send + 'static>(token_job: bool) -> (Promise<T>, ConcurrentFuture<T>) {
        pair(Options {
            // A token job "stops" by being told to: setting the token is all `cancel` can do, and
            // the future then reports `Cancelled` whatever the job returns.
            canceller: if token_job { Some(Box::new(|| true)) } else { None },
            ..Options::default()
        })
    }

    /// Wraps `f` and its promise into a queue entry; `limit` is its run-time limit.
    fn new_job<F, T>(promise: Promise<T>, f: F, limit: Option<Duration>) -> Job
    where
        F: FnOnce() -> Result<T, JobError> + Send + 'static,
        T: Send + 'static,
    {
        Box::new(Task {
            promise,
            f,
            enqueued: Instant::now(),
            limit,
            #[cfg(feature = "tracing")]
            span: tracing::Span::current(),
        })
    }

    /// Runs `f` on a pool thread; its outcome arrives in the returned future.
    ///
    /// Fails with [`SubmitError::ShutDown`] after a shutdown and [`SubmitError::Broken`] if the
    /// pool's initializer failed. With a bounded queue ([`ThreadPoolBuilder::queue_capacity`]) that is
    /// full, it blocks until there is room (see [`try_submit`](Self::try_submit) and
    /// [`submit_async`](Self::submit_async) for the alternatives). If no thread can be started and
    /// none is alive to take the job, the future fails with [`JobError::Spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let fut = pool.submit(|| 2 + 2).unwrap();
    /// assert_eq!(fut.wait(), Ok(4));
    /// ```
    pub fn submit<F, T>(&self, f: F) -> Result<ConcurrentFuture<T>, SubmitError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit_inner(false, |_| move || Ok(f()), None, true)
    }

    /// Like [`submit`](Self::submit), but fails with [`SubmitError::QueueFull`] instead of blocking
    /// when a bounded queue is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// // An unbounded queue is never full.
    /// assert_eq!(pool.try_submit(|| 1).unwrap().wait(), Ok(1));
    /// ```
    pub fn try_submit<F, T>(&self, f: F) -> Result<ConcurrentFuture<T>, SubmitError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit_inner(false, |_| move || Ok(f()), None, false)
    }

    /// Like [`submit`](Self::submit), but `f` receives a [`CancelToken`] it can poll, and the future's
    /// `cancel()` works on the running job: it sets the token, returns `true`, and the future reports
    /// `Err(JobError::Cancelled)` once the job returns (whatever it returns).
    ///
    /// The token also turns `true` when the future is dropped, so a job nobody waits for can stop early.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let fut = pool.submit_with_token(|tok| {
    ///     let mut rounds = 0u64;
    ///     while !tok.is_cancelled() {
    ///         rounds += 1;
    ///         std::thread::sleep(Duration::from_millis(1));
    ///     }
    ///     rounds
    /// }).unwrap();
    /// while pool.stats().running == 0 { std::thread::yield_now(); }
    /// assert!(fut.cancel());
    /// assert_eq!(fut.wait(), Err(tulip::JobError::Cancelled));
    /// ```
    pub fn submit_with_token<F, T>(&self, f: F) -> Result<ConcurrentFuture<T>, SubmitError>
    where
        F: FnOnce(CancelToken) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit_inner(true, |token| move || Ok(f(token)), None, true)
    }

    /// Like [`submit`](Self::submit), with a run-time limit counted from the moment the job starts
    /// (time in the queue does not count, unlike a [`timeout`](crate::timeout) around the future).
    ///
    /// A thread cannot be killed, so at the limit the job's [`CancelToken`] is set and its future
    /// fails at once with [`JobError::TimedOut`]; the job keeps its thread (counted in
    /// `stats().running`) until it returns, and what it returns then is dropped. A job that polls its
    /// token stops soon after. `Duration::MAX` means no limit. If the process-wide watchdog thread
    /// that enforces limits cannot start, the future fails with [`JobError::Spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let fut = pool.submit_with_limit(|tok| {
    ///     while !tok.is_cancelled() { std::thread::sleep(Duration::from_millis(1)); }
    /// }, Duration::from_millis(20)).unwrap();
    /// assert!(matches!(fut.wait(), Err(tulip::JobError::TimedOut { .. })));
    /// let quick = pool.submit_with_limit(|_| 5, Duration::from_secs(60)).unwrap();
    /// assert_eq!(quick.wait(), Ok(5));
    /// ```
    pub fn submit_with_limit<F, T>(&self, f: F, limit: Duration) -> Result<ConcurrentFuture<T>, SubmitError>
    where
        F: FnOnce(&CancelToken) -> T + Send + 'static,
        T: Send + 'static,
    {
        if let Err(msg) = limit::start_watchdog() {
            self.check_open()?;
            return Ok(ConcurrentFuture::ready(Err(JobError::Spawn(msg))));
        }
        self.submit_inner(false, |token| move || Ok(f(&token)), Some(limit), true)
    }

    /// Like [`submit`](Self::submit), but `f` borrows this worker thread's state of type `S`, made
    /// once per thread by the factory registered with [`ThreadPoolBuilder::worker_state`].
    ///
    /// Fails with [`SubmitError::NoState`] (naming `S`) if the pool has no factory for `S`. If the
    /// factory fails, this job fails with [`JobError::Initializer`] and the next one tries again.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let pool = tulip::ThreadPool::builder()
    ///     .worker_state(|| Ok::<_, String>(HashMap::<String, u32>::new()))
    ///     .build()
    ///     .unwrap();
    /// let n = pool.submit_with_state(|cache: &mut HashMap<String, u32>| {
    ///     *cache.entry("hits".into()).or_default() += 1;
    ///     cache["hits"]
    /// }).unwrap();
    /// assert_eq!(n.wait(), Ok(1));
    /// let missing = pool.submit_with_state(|_: &mut Vec<u8>| ());
    /// assert!(matches!(missing, Err(tulip::SubmitError::NoState(_))));
    /// ```
    pub fn submit_with_state<S, F, T>(&self, f: F) -> Result<ConcurrentFuture<T>, SubmitError>
    where
        S: 'static,
        F: FnOnce(&mut S) -> T + Send + 'static,
        T: Send + 'static,
    {
        let Some(make) = state::factory::<S>(&self.shared().config.states) else {
            return Err(SubmitError::NoState(std::any::type_name::<S>()));
        };
        self.submit_inner(false, |_| move || state::with_state(&make, f), None, true)
    }

    /// Refuses early if the pool is closed.
    fn check_open(&self) -> Result<(), SubmitError> {
        match self.shared().is_closed() {
            true => Err(self.shared().closed_error()),
            false => Ok(()),
        }
    }

    /// The one submit path: makes the job (`make` receives the job's token) and queues it, blocking
    /// for room if `block`.
    fn submit_inner<M, J, T>(
        &self,
        token_job: bool,
        make: M,
        limit: Option<Duration>,
        block: bool,
    ) -> Result<ConcurrentFuture<T>, SubmitError>
    where
        M: FnOnce(CancelToken) -> J,
        J: FnOnce() -> Result<T, JobError> + Send + 'static,
        T: Send + 'static,
    {
        self.check_open()?;
        let (promise, fut) = Self::new_pair(token_job);
        let job = make(promise.token());
        let shared = self.shared();
        let job = Self::new_job(promise, job, limit);
        let pushed = if block { shared.push_blocking(job) } else { shared.try_push(job) };
        match pushed {
            Ok(()) => shared.after_push(&|e| fut.revoke(e)).map(|()| fut),
            // The job (and its promise) is dropped here, which completes `fut` and cancels it.
            Err(_job) if shared.is_closed() => Err(shared.closed_error()),
            Err(_job) => Err(SubmitError::QueueFull),
        }
    }

    /// Like [`submit`](Self::submit), for async code: resolves once the job is in the queue, waiting
    /// (without blocking the thread) while a bounded queue is full. Then `.await` the
    /// [`ConcurrentFuture`] it gives for the job's outcome.
    ///
    /// The job is created at once; dropping the returned future before it resolves drops the job
    /// unrun.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().queue_capacity(8).build().unwrap();
    /// let out = futures_lite::future::block_on(async {
    ///     let fut = pool.submit_async(|| 6 * 7).await?;
    ///     Ok::<_, Box<dyn std::error::Error>>(fut.await?)
    /// });
    /// assert_eq!(out.unwrap(), 42);
    /// ```
    pub fn submit_async<F, T>(&self, f: F) -> SubmitFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (promise, fut) = Self::new_pair(false);
        let job = Self::new_job(promise, move || Ok(f()), None);
        let admission = Admission {
            shared: Arc::clone(self.shared()),
            job: Some(job),
            revoke: fut.revoker(),
            registered: false,
        };
        SubmitFuture { admission, fut: Some(fut) }
    }

    /// Runs `f` on each item of `items` in the pool and yields the results in the items' order, like
    /// Python's `Executor.map`, with at most `2 × max_workers` jobs in flight (change it with
    /// [`PoolMap::in_flight`]).
    ///
    /// The iterator owns a handle to the pool (it borrows nothing), and is lazy and blocking: `next()`
    /// tops up the jobs in flight, then waits for the oldest. Dropping it cancels the jobs not started
    /// yet. A job that panics yields `Err(JobError::Panicked)` in its place and the others go on; after
    /// a shutdown the remaining items yield `Err(JobError::ShutDown)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let lens: Vec<usize> = pool
    ///     .map(|s: &str| s.len(), ["a", "bb", "ccc"])
    ///     .in_flight(2)
    ///     .collect::<Result<_, _>>()
    ///     .unwrap();
    /// assert_eq!(lens, [1, 2, 3]);
    /// ```
    pub fn map<I, F, R>(&self, f: F, items: I) -> PoolMap<I::IntoIter, F, R>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        let limit = self.max_workers().saturating_mul(2);
        PoolMap::new(self.clone(), Arc::new(f), items.into_iter(), limit)
    }

    /// Stops taking jobs and returns at once (`concurrent.futures`' `shutdown(wait=False)`): queued
    /// jobs still run, running ones run to their end, then the threads exit.
    ///
    /// Later submits fail with [`SubmitError::ShutDown`]. Dropping the last handle does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().max_workers(1).build().unwrap();
    /// let queued = pool.submit(|| 1).unwrap();
    /// pool.shutdown();
    /// assert_eq!(queued.wait(), Ok(1));
    /// assert_eq!(pool.submit(|| 2).unwrap_err(), tulip::SubmitError::ShutDown);
    /// ```
    pub fn shutdown(&self) {
        self.shared().close(None);
    }

    /// [`shutdown`](Self::shutdown), then waits up to `timeout` for every queued and running job. At
    /// the deadline the jobs still queued fail with [`JobError::ShutDown`] (`cancelled` in the report);
    /// the jobs still running are left to finish on their threads, their futures still waiting for
    /// them (`still_running`).
    ///
    /// `Duration::ZERO` cancels the queue now; `Duration::MAX` waits for everything (then every thread
    /// has exited). Called from one of the pool's own jobs, it waits for all the other jobs (not for
    /// itself).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = tulip::ThreadPool::builder().max_workers(1).build().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let stuck = pool.submit(move || rx.recv()).unwrap();
    /// while pool.stats().running == 0 { std::thread::yield_now(); }
    /// let queued = pool.submit(|| 1).unwrap();
    /// let report = pool.shutdown_timeout(Duration::from_millis(20));
    /// assert_eq!((report.cancelled, report.still_running), (1, 1));
    /// assert_eq!(queued.wait(), Err(tulip::JobError::ShutDown));
    /// tx.send(()).unwrap();
    /// assert_eq!(stuck.wait(), Ok(Ok(())));
    /// assert!(pool.shutdown_timeout(Duration::MAX).is_complete());
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration) -> ShutdownReport {
        let shared = self.shared();
        shared.close(None);
        // `None` (waits for ever): a deadline too far to represent.
        let deadline = Instant::now().checked_add(timeout);
        if shared.wait_workers(deadline) == 0 {
            return ShutdownReport::default();
        }
        let cancelled = shared.reject_queued(&JobError::ShutDown);
        ShutdownReport { cancelled, still_running: shared.totals().running }
    }

    /// Whether the pool takes no more jobs (shut down, or broken by a failed initializer).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// assert!(!pool.is_shut_down());
    /// pool.shutdown();
    /// assert!(pool.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.shared().is_closed()
    }

    /// The most threads this pool runs at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// assert_eq!(pool.max_workers(), (num_cpus::get() + 4).min(32));
    /// ```
    pub fn max_workers(&self) -> usize {
        self.shared().config.max_workers
    }

    /// A snapshot of the pool's threads, queue and counters (see [`PoolStats`] for what each means;
    /// `worker_deaths` is always 0 on a thread pool).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let s = pool.stats();
    /// assert_eq!((s.workers, s.running, s.queued, s.completed), (0, 0, 0, 0));
    /// ```
    pub fn stats(&self) -> PoolStats {
        let shared = self.shared();
        let t = shared.totals();
        PoolStats {
            max_workers: shared.config.max_workers,
            workers: shared.workers(),
            idle: shared.idle(),
            queued: shared.queued(),
            running: t.running,
            completed: t.completed,
            failed: t.failed,
            cancelled: t.cancelled,
            queue_wait_total: Duration::from_nanos(t.wait_total_ns),
            queue_wait_max: Duration::from_nanos(t.wait_max_ns),
            // A thread that leaves is not a death: threads exit only when told or idle.
            worker_deaths: 0,
            workers_started: shared.workers_started(),
            hosts_set_aside: 0,
        }
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("thread_name_prefix", &self.shared().config.thread_name_prefix)
            .field("shut_down", &self.is_shut_down())
            .field("stats", &self.stats())
            .finish()
    }
}

/// The future of [`ThreadPool::submit_async`]: resolves to the job's [`ConcurrentFuture`] once the job
/// is in the queue.
///
/// # Examples
///
/// ```
/// let pool = tulip::ThreadPool::builder().build().unwrap();
/// let fut = futures_lite::future::block_on(pool.submit_async(|| 1)).unwrap();
/// assert_eq!(fut.wait(), Ok(1));
/// ```
#[must_use = "the job is submitted only when this future is polled"]
pub struct SubmitFuture<T> {
    admission: Admission,
    /// The job's future; `None` once handed out.
    fut: Option<ConcurrentFuture<T>>,
}

impl<T: Send + 'static> Future for SubmitFuture<T> {
    type Output = Result<ConcurrentFuture<T>, SubmitError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match Pin::new(&mut this.admission).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => Poll::Ready(this.fut.take().ok_or(SubmitError::ShutDown)),
        }
    }
}

impl<T> fmt::Debug for SubmitFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmitFuture").field("submitted", &self.fut.is_none()).finish()
    }
}

/// A job waiting for room in a bounded queue, without blocking its thread; resolves once the job is in
/// the queue (or refused). Dropped before that, it drops the job unrun, which completes the job's
/// future with `JobError::ShutDown` (if it was not cancelled already).
pub(crate) struct Admission {
    shared: Arc<Shared>,
    job: Option<Job>,
    /// Cancels the job's future if still queued (see `Shared::after_push`).
    revoke: Box<dyn Fn(JobError) -> bool + Send + Sync>,
    /// Counted in the pool's `space_waiters`, so workers signal room for it.
    registered: bool,
}

impl Future for Admission {
    type Output = Result<(), SubmitError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(job) = this.job.take() else {
            return Poll::Ready(Err(SubmitError::ShutDown));
        };
        if this.shared.is_closed() {
            return Poll::Ready(Err(this.shared.closed_error()));
        }
        match this.shared.push_or_register(job, cx.waker(), &mut this.registered) {
            Ok(()) => Poll::Ready(this.shared.after_push(&*this.revoke)),
            Err(job) => {
                this.job = Some(job);
                Poll::Pending
            }
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if self.registered {
            self.shared.unregister_space_waiter();
        }
    }
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admission").field("admitted", &self.job.is_none()).finish()
    }
}

/// What [`ThreadPool::submit_nowait`] did with a job.
pub(crate) enum Submitted {
    /// The job is in the queue.
    Queued,
    /// The bounded queue is full: the job waits in this admission future.
    MustWait(Admission),
}

impl ThreadPool {
    /// Submits without ever blocking: the job is queued, refused, or (bounded queue full) handed back
    /// as an [`Admission`] that the caller drives, e.g. as a task on a loop. The future is returned
    /// either way; on refusal it is already complete with the error.
    pub(crate) fn submit_nowait<F, T>(&self, f: F) -> (ConcurrentFuture<T>, Submitted)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = self.shared();
        let (promise, fut) = Self::new_pair(false);
        if shared.is_closed() {
            let err = shared.closed_error().into_job_error();
            promise.complete(Err(err));
            return (fut, Submitted::Queued);
        }
        let job = Self::new_job(promise, move || Ok(f()), None);
        match shared.try_push(job) {
            Ok(()) => {
                // On refusal `revoke` already completed the future with the reason; nothing else to do.
                let _ = shared.after_push(&|e| fut.revoke(e));
                (fut, Submitted::Queued)
            }
            Err(job) => {
                let revoke = fut.revoker();
                let admission =
                    Admission { shared: Arc::clone(shared), job: Some(job), revoke, registered: false };
                (fut, Submitted::MustWait(admission))
            }
        }
    }
}
