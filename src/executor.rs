//! Executors on the loop: the [`Executor`] trait both pools implement, [`EventLoop::run_in_executor`],
//! [`to_thread`], and each loop's default executor ([`EventLoop::set_default_executor`],
//! [`EventLoop::shutdown_default_executor`]).
//!
//! This module owns the bridge from the loop to the pools: which pool a job goes to, how a job gets
//! into a full bounded pool without blocking the loop, and how the default executor ends with the loop.
//! The pools are [`ThreadPool`] (a job is a closure) and `ProcessPool` (a job is a `(fn(A) -> R, A)`
//! pair); the completion object is the job's [`ConcurrentFuture`], the same one a worker completes and
//! a task awaits (no second future chained behind it).
//!
//! ```
//! let n = tulip::run(async {
//!     let lp = tulip::get_running_loop();
//!     let a = lp.run_in_executor(None, || 20).await?;          // the loop's default executor
//!     let b = tulip::to_thread(|| 20).await?;                   // the same, asyncio's to_thread
//!     let db = tulip::ThreadPool::builder().max_workers(1).thread_name_prefix("db").build()?;
//!     let c = lp.run_in_executor(Some(&db), || 2).await?;      // a pool of your own
//!     Ok::<_, Box<dyn std::error::Error>>(a + b + c)
//! });
//! assert_eq!(n.unwrap(), 42);
//! ```
//!
//! A [`timeout`](crate::timeout) around a pool's future counts the time the job waits in the queue;
//! for a limit on the job's own run time, submit it with `submit_with_limit`
//! ([`ThreadPool::submit_with_limit`]).
//!
//! # Implementation
//!
//! The default executor is a [`ThreadPool`] with the default settings (threads named
//! `tulip-executor-N`), created on the first `run_in_executor(None, ..)` and kept in the loop's
//! extension slots, so a loop that never runs blocking work never starts a thread. Submitting from the
//! loop never blocks it: if a bounded pool's queue is full, the job waits for room in a task on the
//! loop (its future is handed out at once, and cancelling it still removes the job). Completions reach
//! the loop through its inbox, which coalesces wakeups: a burst of jobs finishing costs one wakeup of
//! a sleeping loop, not one per job.
//!
//! # Caveats
//!
//! - [`tulip::run`](crate::run) first cancels the tasks still pending (so a job waiting on what one of
//!   them owns can end), then waits at most [`RUN_EXECUTOR_SHUTDOWN_TIMEOUT`] for the jobs still
//!   queued or running in the default executor (its `shutdown_timeout`), then cancels the queued ones
//!   and logs what it left behind (a thread cannot be killed); call
//!   [`EventLoop::shutdown_default_executor`] yourself for another bound.
//! - Closing or dropping a loop shuts its default executor down without waiting, like asyncio's
//!   `loop.close()`: queued jobs still run, threads exit when they are done.

use std::sync::OnceLock;
use std::time::Duration;

use crate::error::{BuildError, JobError, SubmitError};
use crate::future::{pair, ConcurrentFuture, Options};
use crate::pool::ShutdownReport;
use crate::reactor::{try_get_running_loop, EventLoop};
use crate::thread_pool::{Submitted, ThreadPool};

/// A pool that runs jobs of kind `J`: what [`EventLoop::run_in_executor`] submits to.
///
/// [`ThreadPool`] runs closures (`J: FnOnce() -> T`); `ProcessPool` runs `(fn(A) -> R, A)` pairs (the
/// function and its arguments). Each job kind names its pool through [`ExecutorJob`], which is how
/// `run_in_executor(None, job)` knows which pool `None` means.
///
/// # Examples
///
/// ```
/// use tulip::{Executor, ThreadPool};
///
/// fn run_one<E: Executor<J>, J>(pool: &E, job: J) -> Option<E::Output>
/// where
///     E::Output: Send + 'static,
/// {
///     pool.submit_job(job).ok()?.wait().ok()
/// }
///
/// let pool = ThreadPool::builder().build().unwrap();
/// assert_eq!(run_one(&pool, || 6 * 7), Some(42));
/// ```
pub trait Executor<J> {
    /// What a job of kind `J` produces (`T` for a closure returning `T`).
    type Output;

    /// Submits `job`, as the pool's `submit` does: a refusal known at submit time is an `Err`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::{Executor, SubmitError, ThreadPool};
    ///
    /// let pool = ThreadPool::builder().build().unwrap();
    /// assert_eq!(pool.submit_job(|| 1).unwrap().wait(), Ok(1));
    /// pool.shutdown();
    /// assert_eq!(pool.submit_job(|| 1).unwrap_err(), SubmitError::ShutDown);
    /// ```
    fn submit_job(&self, job: J) -> Result<ConcurrentFuture<Self::Output>, SubmitError>;
}

impl<F, T> Executor<F> for ThreadPool
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    type Output = T;

    fn submit_job(&self, job: F) -> Result<ConcurrentFuture<T>, SubmitError> {
        self.submit(job)
    }
}

/// A kind of job, and the pool type that runs it: a closure runs on a [`ThreadPool`], a
/// `(fn(A) -> R, A)` pair on a `ProcessPool`.
///
/// It lets [`EventLoop::run_in_executor`] infer the pool type from the job alone, so that
/// `lp.run_in_executor(None, || 1)` needs no annotation, and it holds what differs between the kinds
/// on a loop: which pool `None` means, and how to submit without blocking the loop.
///
/// # Examples
///
/// ```
/// use tulip::{ExecutorJob, ThreadPool};
///
/// fn pool_kind<J: ExecutorJob>(_: &J) -> &'static str {
///     std::any::type_name::<J::Executor>()
/// }
/// assert!(pool_kind(&|| 1).ends_with("ThreadPool"));
/// ```
pub trait ExecutorJob: Sized {
    /// The pool type that runs this kind of job.
    type Executor: Executor<Self>;

    /// The pool `run_in_executor(None, job)` uses on `lp`; `Err` is what the job's future then
    /// fails with.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::ExecutorJob;
    ///
    /// let lp = tulip::EventLoop::new().unwrap();
    /// // A closure's pool is the loop's default thread pool.
    /// let pool = <fn() -> u8 as ExecutorJob>::default_executor(&lp).unwrap();
    /// assert_eq!(pool.max_workers(), lp.default_executor().unwrap().max_workers());
    /// ```
    fn default_executor(lp: &EventLoop) -> Result<Self::Executor, JobError>;

    /// Submits the job to `executor` from `lp`'s thread without blocking the loop; a refusal
    /// completes the returned future with the matching [`JobError`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::ExecutorJob;
    ///
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let fut = (|| 2).submit_from_loop(&pool, &lp);
    /// assert_eq!(lp.run_until_complete(fut).unwrap(), Ok(2));
    /// ```
    fn submit_from_loop(
        self,
        executor: &Self::Executor,
        lp: &EventLoop,
    ) -> ConcurrentFuture<<Self::Executor as Executor<Self>>::Output>;
}

impl<F, T> ExecutorJob for F
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    type Executor = ThreadPool;

    fn default_executor(lp: &EventLoop) -> Result<ThreadPool, JobError> {
        lp.default_executor().map_err(SubmitError::into_job_error)
    }

    fn submit_from_loop(self, pool: &ThreadPool, lp: &EventLoop) -> ConcurrentFuture<T> {
        let (fut, submitted) = pool.submit_nowait(self);
        if let Submitted::MustWait(admission) = submitted {
            // Until it is in the queue, the job needs this loop: a blocking wait for it on this
            // thread could never end, so it fails fast instead (see `ConcurrentFuture::wait`).
            let needs_loop = fut.loop_guard();
            needs_loop(Some(lp.handle().shared.id));
            // Waits for room without blocking the loop. A refusal meanwhile has already completed the
            // job's future (cancelled, or ShutDown when the job is dropped), so the result can go.
            drop(lp.spawn(async move {
                let _ = admission.await;
                needs_loop(None);
            }));
        }
        fut
    }
}

impl<A, R> ExecutorJob for (fn(A) -> R, A)
where
    crate::ProcessPool: Executor<(fn(A) -> R, A), Output = R>,
    R: Send + 'static,
{
    type Executor = crate::ProcessPool;

    fn default_executor(_: &EventLoop) -> Result<crate::ProcessPool, JobError> {
        Err(JobError::Spawn(
            "a loop's default executor is a thread pool: pass Some(&process_pool) for a process-pool job"
                .into(),
        ))
    }

    fn submit_from_loop(self, pool: &crate::ProcessPool, _: &EventLoop) -> ConcurrentFuture<R> {
        pool.submit_job(self).unwrap_or_else(|e| ConcurrentFuture::ready(Err(e.into_job_error())))
    }
}

/// How long [`tulip::run`](crate::run) waits for the jobs still queued or running in the default
/// executor before it cancels the queued ones and gives up on the running ones (and logs how many).
///
/// # Examples
///
/// ```
/// assert_eq!(tulip::RUN_EXECUTOR_SHUTDOWN_TIMEOUT, std::time::Duration::from_secs(10));
/// ```
pub const RUN_EXECUTOR_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// A loop's default executor, kept in the loop's extension slots.
struct DefaultExecutor {
    /// `None` until the first job (or after `shutdown_default_executor`).
    pool: Option<ThreadPool>,
    /// `shutdown_default_executor` was called: `run_in_executor(None, ..)` fails from then on instead
    /// of quietly starting a new pool (asyncio raises `RuntimeError` there).
    shut_down: bool,
}

impl Drop for DefaultExecutor {
    fn drop(&mut self) {
        // The loop is closing or going away: no new jobs, no waiting (asyncio's `loop.close()`).
        if let Some(pool) = self.pool.take() {
            pool.shutdown();
        }
    }
}

/// Runs `f` on the loop's `DefaultExecutor`, creating the slot if needed.
fn with_default<R>(lp: &EventLoop, f: impl FnOnce(&mut DefaultExecutor) -> R) -> R {
    if lp.is_closed() {
        // `close` shut the executor down; a pool `f` leaves here is dropped, so shut down at once.
        return f(&mut DefaultExecutor { pool: None, shut_down: true });
    }
    let mut exts = lp.inner.extensions.borrow_mut();
    let pos = exts.iter().position(|e| e.is::<DefaultExecutor>());
    let i = match pos {
        Some(i) => i,
        None => {
            exts.push(Box::new(DefaultExecutor { pool: None, shut_down: false }));
            exts.len() - 1
        }
    };
    match exts[i].downcast_mut::<DefaultExecutor>() {
        Some(d) => f(d),
        // `position` found this very slot by its type.
        None => f(&mut DefaultExecutor { pool: None, shut_down: true }),
    }
}

fn new_default_pool(prefix: &str) -> Result<ThreadPool, BuildError> {
    ThreadPool::builder().thread_name_prefix(prefix).build()
}

impl EventLoop {
    /// Runs the blocking `job` on a pool and returns its future (asyncio's `loop.run_in_executor`).
    ///
    /// A closure runs on a [`ThreadPool`]: `None` uses the loop's default executor (created on first
    /// use, see [`set_default_executor`](Self::set_default_executor)), `Some(&pool)` uses `pool`. A
    /// `(fn(A) -> R, A)` pair runs on the `ProcessPool` given as `Some(&pool)` (as asyncio accepts a
    /// process pool; a loop has no default one, so `None` fails it with `JobError::Spawn`). The pool
    /// type is inferred from the job (see [`ExecutorJob`]). The [`ConcurrentFuture`] is what a task on
    /// this loop awaits; dropping it while the job is queued removes the job, dropping it while the
    /// job runs abandons the job, and an error the job then returns goes to this loop's exception
    /// handler.
    ///
    /// Never blocks the loop: if a thread pool has a bounded queue that is full, the job waits for
    /// room in a task on this loop (meanwhile a blocking `wait` for it on this loop's thread fails at
    /// once with `JobError::WouldDeadlock`, since that task could not run). A refusal comes back in the
    /// future: shut down gives `JobError::ShutDown`, broken by a failed initializer
    /// `JobError::Initializer`, arguments that cannot be encoded `JobError::Codec`. On a closed loop
    /// nothing runs and the future is already complete with `JobError::LoopClosed` (asyncio raises
    /// there).
    ///
    /// A [`timeout`](crate::timeout) around the returned future counts the time the job waits in the
    /// queue too; to limit only the job's run time, submit it with
    /// [`ThreadPool::submit_with_limit`] (or `ProcessPool::submit_with_limit`) and await that future.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let lp = tulip::get_running_loop();
    ///     let len = lp.run_in_executor(None, || std::fs::read("Cargo.toml").map(|b| b.len())).await;
    ///     assert!(len.unwrap().unwrap() > 0);
    ///     let boom = lp.run_in_executor(None, || -> u32 { panic!("boom") }).await;
    ///     assert_eq!(boom, Err(tulip::JobError::Panicked("boom".into())));
    /// });
    /// ```
    pub fn run_in_executor<E, J>(&self, executor: Option<&E>, job: J) -> ConcurrentFuture<E::Output>
    where
        E: Executor<J>,
        J: ExecutorJob<Executor = E>,
        E::Output: Send + 'static,
    {
        if self.is_closed() {
            return ConcurrentFuture::ready(Err(JobError::LoopClosed));
        }
        match executor {
            Some(pool) => job.submit_from_loop(pool, self),
            None => match J::default_executor(self) {
                Ok(pool) => job.submit_from_loop(&pool, self),
                Err(e) => ConcurrentFuture::ready(Err(e)),
            },
        }
    }

    /// The loop's default executor, created (with the default settings) if it does not exist yet.
    ///
    /// Fails with [`SubmitError::ShutDown`] after
    /// [`shutdown_default_executor`](Self::shutdown_default_executor) and on a closed loop, and with
    /// [`SubmitError::Broken`] (the reason as text) if the pool cannot be built.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let pool = lp.default_executor().unwrap();
    /// assert_eq!(pool.max_workers(), (num_cpus::get() + 4).min(32));
    /// ```
    pub fn default_executor(&self) -> Result<ThreadPool, SubmitError> {
        with_default(self, |d| {
            if d.shut_down {
                return Err(SubmitError::ShutDown);
            }
            match &d.pool {
                Some(p) => Ok(p.clone()),
                None => {
                    let p =
                        new_default_pool("tulip-executor").map_err(|e| SubmitError::Broken(e.to_string()))?;
                    d.pool = Some(p.clone());
                    Ok(p)
                }
            }
        })
    }

    /// Makes `pool` the executor of `run_in_executor(None, ..)` and [`to_thread`] on this loop
    /// (asyncio's `loop.set_default_executor`).
    ///
    /// The previous default executor, if the loop had created one, is shut down without waiting (its
    /// queued jobs still run). The loop shuts `pool` down when it closes, as its own (at once, if it
    /// is closed already).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let pool = tulip::ThreadPool::builder().max_workers(2).thread_name_prefix("mine").build().unwrap();
    /// lp.set_default_executor(pool);
    /// let name = lp.run_until_complete(async {
    ///     tulip::to_thread(|| std::thread::current().name().map(String::from)).await
    /// });
    /// assert_eq!(name.unwrap().unwrap().as_deref(), Some("mine-0"));
    /// ```
    pub fn set_default_executor(&self, pool: ThreadPool) {
        let previous = with_default(self, |d| {
            d.shut_down = false;
            d.pool.replace(pool)
        });
        if let Some(old) = previous {
            old.shutdown();
        }
    }

    /// Shuts the default executor down (asyncio's `loop.shutdown_default_executor`): it takes no new
    /// jobs, the queued ones still run, and the returned future resolves once all have ended or
    /// `timeout` has passed (`None`: no limit), with the pool's
    /// [`shutdown_timeout`](ThreadPool::shutdown_timeout) report: at the deadline the jobs still queued
    /// fail with `JobError::ShutDown` (`cancelled`), the running ones are left to finish
    /// (`still_running`).
    ///
    /// The waiting happens on a thread of its own, so the loop keeps running meanwhile. When the
    /// timeout runs out, what was left is also logged at warning level. Afterwards
    /// `run_in_executor(None, ..)` fails with `JobError::ShutDown` (until `set_default_executor`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// tulip::run(async {
    ///     let lp = tulip::get_running_loop();
    ///     let job = lp.run_in_executor(None, || std::thread::sleep(Duration::from_millis(20)));
    ///     let report = lp.shutdown_default_executor(Some(Duration::from_secs(10))).await.unwrap();
    ///     assert!(report.is_complete());
    ///     assert!(job.is_done());
    ///     assert_eq!(tulip::to_thread(|| 1).await, Err(tulip::JobError::ShutDown));
    /// });
    /// ```
    pub fn shutdown_default_executor(&self, timeout: Option<Duration>) -> ConcurrentFuture<ShutdownReport> {
        let pool = with_default(self, |d| {
            d.shut_down = true;
            d.pool.take()
        });
        let Some(pool) = pool else { return ConcurrentFuture::ready(Ok(ShutdownReport::default())) };
        let (promise, fut) = pair(Options { running: true, ..Options::default() });
        let fallback = pool.clone();
        let waiter = move || {
            let report = pool.shutdown_timeout(timeout.unwrap_or(Duration::MAX));
            warn_left(&report, "the default executor", timeout.unwrap_or(Duration::MAX));
            promise.complete(Ok(report));
        };
        match std::thread::Builder::new().name("tulip-executor-shutdown".into()).spawn(waiter) {
            Ok(_) => fut,
            Err(e) => {
                // No thread to wait on: shut down without waiting and report what is still running.
                log::warn!("tulip: could not start a thread to wait for the default executor: {e}");
                drop(fut);
                fallback.shutdown();
                let report = ShutdownReport { cancelled: 0, still_running: fallback.stats().running };
                ConcurrentFuture::ready(Ok(report))
            }
        }
    }
}

/// Logs what a timed shutdown of `what` left behind after `bound`, if anything.
fn warn_left(report: &ShutdownReport, what: &str, bound: Duration) {
    if !report.is_complete() {
        log::warn!(
            "tulip: {what} still had {} job(s) running and {} queued after {bound:?}; the queued ones \
             were cancelled, the running ones are left to finish on their own threads",
            report.still_running,
            report.cancelled,
        );
    }
}

/// End of [`tulip::run`](crate::run): shuts the default executor down, waiting at most
/// [`RUN_EXECUTOR_SHUTDOWN_TIMEOUT`] for its jobs, then cancelling the queued ones; logs what it left
/// behind.
pub(crate) fn shutdown_for_run(lp: &EventLoop) {
    shutdown_default_with(lp, RUN_EXECUTOR_SHUTDOWN_TIMEOUT);
}

/// `shutdown_for_run` with its bound as a parameter; returns what it left behind.
fn shutdown_default_with(lp: &EventLoop, bound: Duration) -> ShutdownReport {
    let pool = with_default(lp, |d| {
        d.shut_down = true;
        d.pool.take()
    });
    let Some(pool) = pool else { return ShutdownReport::default() };
    let report = pool.shutdown_timeout(bound);
    warn_left(&report, "tulip::run: the default executor", bound);
    report
}

/// Runs the blocking function `f` on a thread and returns its future (asyncio's `asyncio.to_thread`).
///
/// Called on a running tulip loop, this is `run_in_executor(None, f)` on that loop. Anywhere else (a
/// tokio or smol task, plain blocking code) it uses a process-wide pool with the default settings
/// (threads named `tulip-to-thread-N`, created on first use; idle threads exit after 10 s), so the
/// future can be awaited on any runtime. With the `tracing` feature, the span current here is entered
/// around `f`.
///
/// # Caveats
///
/// Unlike asyncio's coroutine, the job is submitted when `to_thread` is called, not when its future is
/// first polled: `lp.run_until_complete(tulip::to_thread(f))` runs `f` on the process-wide pool, since
/// no loop is running at the call. Call it inside the loop's future
/// (`lp.run_until_complete(async { tulip::to_thread(f).await })`) to use the loop's executor.
///
/// # Examples
///
/// ```
/// let v = tulip::run(async { tulip::to_thread(|| 2 + 2).await });
/// assert_eq!(v, Ok(4));
///
/// // No loop needed: any runtime can await it, and blocking code can wait on it.
/// assert_eq!(futures_lite::future::block_on(tulip::to_thread(|| "any runtime")), Ok("any runtime"));
/// assert_eq!(tulip::to_thread(|| 3).wait(), Ok(3));
/// ```
pub fn to_thread<F, T>(f: F) -> ConcurrentFuture<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if let Some(lp) = try_get_running_loop() {
        return lp.run_in_executor(None, f);
    }
    static FALLBACK: OnceLock<Result<ThreadPool, String>> = OnceLock::new();
    match FALLBACK.get_or_init(|| new_default_pool("tulip-to-thread").map_err(|e| e.to_string())) {
        // Unbounded queue: the job is queued or refused, never left waiting for room.
        Ok(pool) => pool.submit_nowait(f).0,
        Err(msg) => ConcurrentFuture::ready(Err(JobError::Spawn(msg.clone()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_shutdown_gives_up_after_its_bound_and_counts_what_is_left() {
        let lp = EventLoop::new().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let stuck = lp.run_in_executor(None, move || rx.recv().unwrap());
        let pool = lp.default_executor().unwrap();
        while pool.stats().running == 0 {
            std::thread::yield_now();
        }
        assert_eq!(shutdown_default_with(&lp, Duration::from_millis(20)).still_running, 1);
        assert_eq!(lp.default_executor().unwrap_err(), SubmitError::ShutDown);
        tx.send(()).unwrap();
        assert_eq!(stuck.wait(), Ok(()));
        lp.close().unwrap();
    }
}
