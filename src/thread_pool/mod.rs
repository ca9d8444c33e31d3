//! [`ThreadPool`]: threads for blocking work, Python's `concurrent.futures.ThreadPoolExecutor`.
//!
//! This module owns the thread pool: its builder ([`builder`]), its workers, queue, parking and
//! shutdown ([`core`]), and the ordered `map` iterator ([`map`]). Every job comes back as a
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
//! the cold ones at the bottom time out after [`keep_alive`] and exit), else a new thread if the pool is
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
//! [`keep_alive`]: ThreadPoolBuilder::keep_alive

mod builder;
mod core;
mod map;

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
use crate::error::{JobError, PoolError};
use crate::future::{pair, CancelToken, ConcurrentFuture, Options, Promise};

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
/// pool.shutdown(true, false);
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
///   its end, keeps its worker (the pool's slot stays counted in `active`) until then, and if it fails
///   its error goes to the exception handler of the loop it was submitted from (or to the `log` crate),
///   never nowhere. A job submitted with [`ThreadPool::submit_with_token`] receives a [`CancelToken`]
///   to poll; `cancel()` on its future sets the token, returns `true`, and the future reports
///   `Err(JobError::Cancelled)` when the job returns.
/// - A **panic** in a job is caught: the future gets `Err(JobError::Panicked(message))` and the worker
///   goes on with the next job. (The panic hook still prints the panic, as for any thread.)
///
/// # Shutdown
///
/// | call | new jobs | queued jobs | running jobs | blocks |
/// |---|---|---|---|---|
/// | [`shutdown(false, false)`](ThreadPool::shutdown) | refused | still run | run to their end | no |
/// | [`shutdown(true, false)`](ThreadPool::shutdown) | refused | still run | run to their end | until all are done |
/// | [`shutdown(_, true)`](ThreadPool::shutdown) | refused | fail with `JobError::ShutDown` | run to their end | if `wait` |
/// | [`shutdown_timeout(d)`](ThreadPool::shutdown_timeout) | refused | fail with `JobError::ShutDown` | run to their end | at most `d`; returns how many still run |
/// | dropping the last `ThreadPool` clone | refused | still run | run to their end | no |
///
/// Refused means `Err(PoolError::ShutDown)` from `submit`. After a shutdown, workers finish what they
/// have, take what is left in the queue, and exit; idle ones exit at once. Dropping a pool never blocks
/// (it is `shutdown(false, false)`), so it cannot hang on a job that never ends, the way a pool that
/// joins its threads on drop can.
///
/// # Caveats
///
/// - A thread cannot be killed, so `shutdown_timeout` and dropping a pool leave a job that never ends
///   running on its (detached) thread; use a process pool for jobs that must be killable.
/// - `submit` on a full bounded queue blocks the calling thread; don't call it on a loop's thread (use
///   [`ThreadPool::submit_async`] or [`ThreadPool::try_submit`]) nor from the pool's own jobs when all
///   workers could end up waiting for each other.
/// - `stats().queued` counts jobs in the queue, including cancelled ones a worker has not reached yet.
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

/// A snapshot of a pool's activity, from [`ThreadPool::stats`].
///
/// Counters (`completed`, `panicked`, `cancelled`, queue wait times) cover the pool's whole life;
/// the others are the state at the moment of the call (each read on its own, so a snapshot taken while
/// jobs move may be off by one between fields).
///
/// # Examples
///
/// ```
/// let pool = tulip::ThreadPool::builder().build().unwrap();
/// pool.submit(|| ()).unwrap().wait().unwrap();
/// let s = pool.stats();
/// assert_eq!(s.completed, 1);
/// assert!(s.queue_wait_max <= s.queue_wait_total);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// The most threads the pool runs at once.
    pub max_workers: usize,
    /// Threads alive now (busy or idle).
    pub workers: usize,
    /// Threads waiting for a job (spinning or parked).
    pub idle: usize,
    /// Jobs running now, including abandoned ones (their future was dropped) that still hold a thread.
    pub active: usize,
    /// Jobs waiting in the queue (including cancelled ones no worker has discarded yet).
    pub queued: usize,
    /// Jobs that ran to their end, including those that panicked.
    pub completed: u64,
    /// Jobs that panicked (counted in `completed` too).
    pub panicked: u64,
    /// Jobs that left the queue without running: cancelled, dropped, or failed by a shutdown.
    pub cancelled: u64,
    /// Total time jobs waited between `submit` and the start of their run.
    pub queue_wait_total: Duration,
    /// The longest time one job waited between `submit` and the start of its run.
    pub queue_wait_max: Duration,
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

    /// Wraps `f` and its promise into a queue entry.
    fn new_job<F, T>(promise: Promise<T>, f: F) -> Job
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Box::new(Task {
            promise,
            f,
            enqueued: Instant::now(),
            #[cfg(feature = "tracing")]
            span: tracing::Span::current(),
        })
    }

    /// Runs `f` on a pool thread; its outcome arrives in the returned future.
    ///
    /// Fails with [`PoolError::ShutDown`] after a shutdown, [`PoolError::Initializer`] if the pool's
    /// initializer failed, and [`PoolError::Spawn`] if no thread could be started and none is alive
    /// to take the job. With a bounded queue ([`ThreadPoolBuilder::queue_capacity`]) that is full, it
    /// blocks until there is room (see [`try_submit`](Self::try_submit) and
    /// [`submit_async`](Self::submit_async) for the alternatives).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let fut = pool.submit(|| 2 + 2).unwrap();
    /// assert_eq!(fut.wait(), Ok(4));
    /// ```
    pub fn submit<F, T>(&self, f: F) -> Result<ConcurrentFuture<T>, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit_inner(f, true)
    }

    /// Like [`submit`](Self::submit), but fails with [`PoolError::QueueFull`] instead of blocking when
    /// a bounded queue is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// // An unbounded queue is never full.
    /// assert_eq!(pool.try_submit(|| 1).unwrap().wait(), Ok(1));
    /// ```
    pub fn try_submit<F, T>(&self, f: F) -> Result<ConcurrentFuture<T>, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit_inner(f, false)
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
    /// while pool.stats().active == 0 { std::thread::yield_now(); }
    /// assert!(fut.cancel());
    /// assert_eq!(fut.wait(), Err(tulip::JobError::Cancelled));
    /// ```
    pub fn submit_with_token<F, T>(&self, f: F) -> Result<ConcurrentFuture<T>, PoolError>
    where
        F: FnOnce(CancelToken) -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.shared().is_closed() {
            return Err(self.shared().closed_error());
        }
        let (promise, fut) = Self::new_pair(true);
        let token = promise.token();
        self.enqueue(Self::new_job(promise, move || f(token)), fut, true)
    }

    fn submit_inner<F, T>(&self, f: F, block: bool) -> Result<ConcurrentFuture<T>, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.shared().is_closed() {
            return Err(self.shared().closed_error());
        }
        let (promise, fut) = Self::new_pair(false);
        self.enqueue(Self::new_job(promise, f), fut, block)
    }

    fn enqueue<T: Send + 'static>(
        &self,
        job: Job,
        fut: ConcurrentFuture<T>,
        block: bool,
    ) -> Result<ConcurrentFuture<T>, PoolError> {
        let shared = self.shared();
        let pushed = if block { shared.push_blocking(job) } else { shared.try_push(job) };
        match pushed {
            Ok(()) => shared.after_push(&|e| fut.revoke(e)).map(|()| fut),
            // The job (and its promise) is dropped here, which completes `fut` and cancels it.
            Err(_job) if shared.is_closed() => Err(shared.closed_error()),
            Err(_job) => Err(PoolError::QueueFull),
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
        let job = Self::new_job(promise, f);
        let admission = Admission {
            shared: Arc::clone(self.shared()),
            job: Some(job),
            revoke: fut.revoker(),
            registered: false,
        };
        SubmitFuture { admission, fut: Some(fut) }
    }

    /// Runs `f` on each item of `items` in the pool and yields the results in the items' order, like
    /// Python's `Executor.map`, with at most `2 × max_workers` jobs in flight (see
    /// [`map_with_limit`](Self::map_with_limit)).
    ///
    /// The iterator is lazy and blocking: `next()` tops up the jobs in flight, then waits for the
    /// oldest. Dropping it cancels the jobs not started yet. A job that panics yields
    /// `Err(JobError::Panicked)` in its place and the others go on; after a shutdown the remaining
    /// items yield `Err(JobError::ShutDown)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let lens: Vec<usize> = pool
    ///     .map(|s: &str| s.len(), ["a", "bb", "ccc"])
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
        self.map_with_limit(f, items, limit)
    }

    /// [`map`](Self::map) with at most `in_flight` jobs submitted and not yet yielded (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let v: Vec<u32> = pool.map_with_limit(|x: u32| x + 1, 0..100, 4).map(Result::unwrap).collect();
    /// assert_eq!(v, (1..=100).collect::<Vec<_>>());
    /// ```
    pub fn map_with_limit<I, F, R>(&self, f: F, items: I, in_flight: usize) -> PoolMap<I::IntoIter, F, R>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        PoolMap::new(self.clone(), Arc::new(f), items.into_iter(), in_flight.max(1))
    }

    /// Stops taking jobs; `cancel_pending` also fails the queued jobs with `JobError::ShutDown`;
    /// `wait` blocks until every job (running, and queued unless cancelled) is done and every worker
    /// thread has exited.
    ///
    /// Running jobs are never interrupted. Called again, it only adds what it asks for (cancelling the
    /// queue, waiting). Called from one of the pool's own jobs with `wait`, it waits for all the other
    /// jobs (not for itself).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::{JobError, PoolError, ThreadPool};
    /// use std::time::Duration;
    ///
    /// let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    /// let running = pool.submit(|| std::thread::sleep(Duration::from_millis(50))).unwrap();
    /// while pool.stats().active == 0 { std::thread::yield_now(); }
    /// let queued = pool.submit(|| 1).unwrap();
    /// pool.shutdown(true, true);
    /// assert_eq!(running.wait(), Ok(()));
    /// assert_eq!(queued.wait(), Err(JobError::ShutDown));
    /// assert!(matches!(pool.submit(|| 2), Err(PoolError::ShutDown)));
    /// assert_eq!(pool.stats().workers, 0);
    /// ```
    pub fn shutdown(&self, wait: bool, cancel_pending: bool) {
        let shared = self.shared();
        shared.close(None);
        if cancel_pending {
            shared.reject_queued(&JobError::ShutDown);
        }
        if wait {
            shared.wait_workers(None);
        }
    }

    /// Shuts down, failing the queued jobs with `JobError::ShutDown`, and waits at most `timeout` for
    /// the running ones; returns how many were still running when it stopped waiting (0: all done,
    /// every thread exited).
    ///
    /// Jobs still running keep running on their threads, which exit when their job ends. This is what
    /// the loop's `shutdown_default_executor(timeout)` does with its pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let stuck = pool.submit(move || rx.recv()).unwrap();
    /// while pool.stats().active == 0 { std::thread::yield_now(); }
    /// assert_eq!(pool.shutdown_timeout(Duration::from_millis(20)), 1);
    /// tx.send(()).unwrap();
    /// assert_eq!(stuck.wait(), Ok(Ok(())));
    /// assert_eq!(pool.shutdown_timeout(Duration::from_secs(10)), 0);
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration) -> usize {
        let shared = self.shared();
        shared.close(None);
        shared.reject_queued(&JobError::ShutDown);
        shared.wait_workers(Instant::now().checked_add(timeout))
    }

    /// Whether the pool takes no more jobs (shut down, dropped handles aside, or broken by a failed
    /// initializer).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// assert!(!pool.is_shut_down());
    /// pool.shutdown(false, false);
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

    /// A snapshot of the pool's threads, queue and counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let s = pool.stats();
    /// assert_eq!((s.workers, s.active, s.queued, s.completed), (0, 0, 0, 0));
    /// ```
    pub fn stats(&self) -> PoolStats {
        let shared = self.shared();
        let t = shared.totals();
        PoolStats {
            max_workers: shared.config.max_workers,
            workers: shared.workers(),
            idle: shared.idle(),
            active: t.active,
            queued: shared.queued(),
            completed: t.completed,
            panicked: t.panicked,
            cancelled: t.cancelled,
            queue_wait_total: Duration::from_nanos(t.wait_total_ns),
            queue_wait_max: Duration::from_nanos(t.wait_max_ns),
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
    type Output = Result<ConcurrentFuture<T>, PoolError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match Pin::new(&mut this.admission).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => Poll::Ready(this.fut.take().ok_or(PoolError::ShutDown)),
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
    type Output = Result<(), PoolError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(job) = this.job.take() else {
            return Poll::Ready(Err(PoolError::ShutDown));
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
            let err = refusal(shared.closed_error());
            promise.complete(Err(err));
            return (fut, Submitted::Queued);
        }
        let job = Self::new_job(promise, f);
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

impl ThreadPool {
    /// Stops taking jobs without cancelling the queued ones, and waits until `deadline` (forever if
    /// `None`) for every job to end; returns how many were still running (asyncio's
    /// `executor.shutdown(wait=True)` under a timeout).
    pub(crate) fn shutdown_until(&self, deadline: Option<Instant>) -> usize {
        let shared = self.shared();
        shared.close(None);
        shared.wait_workers(deadline)
    }
}

/// The job error of a submission the pool refused.
///
/// A thread pool refuses a job because it is shut down, broken by its initializer, or unable to
/// start any thread; the other pool errors (a full queue, a bad setting) never reach a job, and would
/// read as the reason no thread could start.
pub(crate) fn refusal(e: PoolError) -> JobError {
    match e {
        PoolError::Initializer(msg) => JobError::Initializer(msg),
        PoolError::ShutDown => JobError::ShutDown,
        PoolError::Spawn(e) => JobError::Spawn(e.to_string()),
        other => JobError::Spawn(other.to_string()),
    }
}
