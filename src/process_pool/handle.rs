//! [`ProcessPool`]: the cloneable handle users hold: submitting, statistics, shutdown, and the last
//! handle's drop.

use std::any::TypeId;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::code::{self, Trampoline};
use super::state;
use super::{
    driver, lock, try_lock, wire, Closing, Inbox, Job, JobCtl, ProcessMap, ProcessPoolBuilder, Shared,
    TypedSink, CANCEL_NONE, CANCEL_UNWANTED, CANCEL_USER,
};
use crate::error::{JobError, SubmitError};
use crate::executor::Executor;
use crate::future::{self, ConcurrentFuture, Options};
use crate::pool::{PoolStats, ShutdownReport};

/// A pool of worker processes that run plain functions: real parallelism for CPU work, crash
/// isolation, and tasks that can be killed.
///
/// See the [`process`](crate::process) module for the model and what each failure does. The pool is
/// a cheap handle: clones share one pool, and dropping the last one shuts it down gracefully
/// without blocking (see [`shutdown`](Self::shutdown)).
///
/// # Examples
///
/// ```
/// fn fib(n: u64) -> u64 {
///     if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
/// }
///
/// fn main() {
///     tulip::process::init(); // first: a worker process enters here and never leaves
///
///     let pool = tulip::ProcessPool::builder().max_workers(2).build().unwrap();
///     // From blocking code...
///     assert_eq!(pool.submit(fib, 20).unwrap().wait(), Ok(6765));
///     // ...or from any async runtime.
///     let f = pool.submit(|s: String| s.len(), "tulip".to_string()).unwrap();
///     assert_eq!(futures_lite::future::block_on(f), Ok(5));
///     // A panic fails only its own task.
///     let bad = pool.submit(|x: u32| if x > 1 { panic!("too big: {x}") } else { x }, 9).unwrap();
///     assert_eq!(bad.wait(), Err(tulip::JobError::Panicked("too big: 9".into())));
///     assert!(pool.shutdown_timeout(std::time::Duration::MAX).is_complete());
/// }
/// ```
#[derive(Clone)]
pub struct ProcessPool {
    inner: Arc<Handle>,
}

/// What every clone of a [`ProcessPool`] shares; its drop (the last handle's) shuts the pool down.
struct Handle {
    shared: Arc<Shared>,
    /// The driver's state; `submit` try-locks it to send straight to an idle worker.
    core: Arc<Mutex<driver::Driver>>,
    /// Taken by whoever joins the driver first.
    driver: Mutex<Option<JoinHandle<()>>>,
    /// Waiting for the driver from its own thread (a done-callback) would never end.
    driver_thread: ThreadId,
}

/// What a submit does when the bounded queue is full.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WhenFull {
    /// Blocks the calling thread until there is room.
    Wait,
    /// Fails with `SubmitError::QueueFull`.
    Refuse,
}

/// Why the pool takes no task now, if it does not.
fn refusal(inbox: &Inbox) -> Option<SubmitError> {
    if let Some(msg) = &inbox.broken {
        return Some(SubmitError::Broken(msg.clone()));
    }
    inbox.closing.is_some().then_some(SubmitError::ShutDown)
}

impl ProcessPool {
    /// A builder with the defaults: `max_workers` = number of CPUs, `min_workers` 0, `idle_timeout`
    /// 60 s, no `max_tasks_per_child`, no `task_timeout`, `max_frame_size` 64 MiB, an unbounded
    /// queue.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::process::init();
    /// let pool = tulip::ProcessPool::builder().build().unwrap();
    /// assert_eq!(pool.max_workers(), num_cpus::get());
    /// ```
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::default()
    }

    pub(super) fn new(shared: Arc<Shared>, core: Arc<Mutex<driver::Driver>>, driver: JoinHandle<()>) -> Self {
        let driver_thread = driver.thread().id();
        ProcessPool {
            inner: Arc::new(Handle { shared, core, driver: Mutex::new(Some(driver)), driver_thread }),
        }
    }

    /// Runs `f(args)` in a worker process; waits for room first if the queue is bounded and full.
    ///
    /// `f` is a plain `fn` or a closure that captures nothing. The arguments are encoded here, on the
    /// calling thread; the result is decoded by the pool when it arrives.
    ///
    /// # Errors
    ///
    /// [`SubmitError::ShutDown`] after a shutdown; [`SubmitError::Broken`] once the pool's
    /// initializer failed; [`SubmitError::Encode`] when the arguments cannot be encoded, encode to
    /// more than `max_frame_size`, or `f` is not in the program's own code;
    /// [`SubmitError::WouldDeadlock`] when the queue is full and the caller is a done-callback on the
    /// pool's driver thread (the thread that makes room).
    ///
    /// # Examples
    ///
    /// ```
    /// fn add(pair: (i32, i32)) -> i32 {
    ///     pair.0 + pair.1
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().max_workers(1).build().unwrap();
    ///     let fut = pool.submit(add, (40, 2)).unwrap();
    ///     assert_eq!(fut.wait(), Ok(42));
    /// }
    /// ```
    pub fn submit<A, R>(&self, f: fn(A) -> R, args: A) -> Result<ConcurrentFuture<R>, SubmitError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let job = self.prepare::<A, R>(f as usize, code::trampoline::<A, R>, &args, None)?;
        self.inner.offer(job, WhenFull::Wait)
    }

    /// As [`submit`](Self::submit), but fails with [`SubmitError::QueueFull`] instead of waiting
    /// when the bounded queue is full.
    ///
    /// # Errors
    ///
    /// As `submit`, plus [`SubmitError::QueueFull`].
    ///
    /// # Examples
    ///
    /// ```
    /// fn id(x: u8) -> u8 {
    ///     x
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().queue_capacity(8).build().unwrap();
    ///     match pool.try_submit(id, 7) {
    ///         Ok(fut) => assert_eq!(fut.wait(), Ok(7)),
    ///         Err(e) => assert_eq!(e, tulip::SubmitError::QueueFull),
    ///     }
    /// }
    /// ```
    pub fn try_submit<A, R>(&self, f: fn(A) -> R, args: A) -> Result<ConcurrentFuture<R>, SubmitError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let job = self.prepare::<A, R>(f as usize, code::trampoline::<A, R>, &args, None)?;
        self.inner.offer(job, WhenFull::Refuse)
    }

    /// As [`submit`](Self::submit), with a run-time limit of its own: when the task has run for
    /// `limit` in its worker (time in the queue is not counted), the worker is killed and replaced,
    /// and the task fails with [`JobError::TimedOut`]`(limit)`. It overrides the pool's
    /// `task_timeout`; `Duration::MAX` is no limit.
    ///
    /// # Errors
    ///
    /// As `submit`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// fn nap(ms: u64) -> u64 {
    ///     std::thread::sleep(Duration::from_millis(ms));
    ///     ms
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().max_workers(1).build().unwrap();
    ///     let limit = Duration::from_millis(100);
    ///     let fut = pool.submit_with_limit(nap, 60_000, limit).unwrap();
    ///     assert_eq!(fut.wait(), Err(tulip::JobError::TimedOut(limit)));
    /// }
    /// ```
    pub fn submit_with_limit<A, R>(
        &self,
        f: fn(A) -> R,
        args: A,
        limit: Duration,
    ) -> Result<ConcurrentFuture<R>, SubmitError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let job = self.prepare::<A, R>(f as usize, code::trampoline::<A, R>, &args, Some(limit))?;
        self.inner.offer(job, WhenFull::Wait)
    }

    /// Runs `f(&mut state, args)` in a worker process, with that worker's state of type `S`
    /// (made there on first use by the factory given to
    /// [`worker_state`](ProcessPoolBuilder::worker_state), then kept); waits for room like
    /// [`submit`](Self::submit).
    ///
    /// A task whose state could not be made fails with [`JobError::Initializer`].
    ///
    /// # Errors
    ///
    /// As `submit`, plus [`SubmitError::NoState`] (with the type's name) when the pool has no
    /// `worker_state` of type `S`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::HashMap;
    ///
    /// fn new_cache() -> Result<HashMap<u64, u64>, String> {
    ///     Ok(HashMap::new())
    /// }
    ///
    /// fn square_cached(cache: &mut HashMap<u64, u64>, x: u64) -> (u64, bool) {
    ///     let hit = cache.contains_key(&x);
    ///     (*cache.entry(x).or_insert(x * x), hit)
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().max_workers(1).worker_state(new_cache).build().unwrap();
    ///     assert_eq!(pool.submit_with_state(square_cached, 7).unwrap().wait(), Ok((49, false)));
    ///     assert_eq!(pool.submit_with_state(square_cached, 7).unwrap().wait(), Ok((49, true)));
    ///     let none = pool.submit_with_state(|n: &mut u8, _: ()| *n, ());
    ///     assert_eq!(none.unwrap_err(), tulip::SubmitError::NoState("u8"));
    /// }
    /// ```
    pub fn submit_with_state<S, A, R>(
        &self,
        f: fn(&mut S, A) -> R,
        args: A,
    ) -> Result<ConcurrentFuture<R>, SubmitError>
    where
        S: 'static,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let config = &self.inner.shared.config;
        let Some(factory) = config.states.iter().find(|s| s.ty == TypeId::of::<S>()) else {
            return Err(SubmitError::NoState(std::any::type_name::<S>()));
        };
        let make_off = code::offset_of(factory.make).map_err(SubmitError::Encode)?;
        let tramp = state::state_trampoline::<S, A, R>;
        let job = self.prepare::<(i64, &A), R>(f as usize, tramp, &(make_off, &args), None)?;
        self.inner.offer(job, WhenFull::Wait)
    }

    /// As [`submit`](Self::submit), but waits for room in a full bounded queue without blocking the
    /// thread: the returned future resolves once the task is queued (or refused). The arguments are
    /// encoded here, at once. Dropping the future before it resolves drops the task unrun.
    ///
    /// # Examples
    ///
    /// ```
    /// fn double(x: u32) -> u32 {
    ///     2 * x
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().max_workers(1).queue_capacity(1).build().unwrap();
    ///     let n = tulip::run(async {
    ///         let fut = pool.submit_async(double, 21).await?;
    ///         Ok::<_, Box<dyn std::error::Error>>(fut.await?)
    ///     });
    ///     assert_eq!(n.unwrap(), 42);
    /// }
    /// ```
    pub fn submit_async<A, R>(&self, f: fn(A) -> R, args: A) -> ProcessSubmitFuture<R>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let state = match self.prepare::<A, R>(f as usize, code::trampoline::<A, R>, &args, None) {
            Ok(job) => Ok(Some(job)),
            Err(e) => Err(Some(e)),
        };
        ProcessSubmitFuture { pool: self.inner.clone(), state }
    }

    /// Runs `f` on every item in worker processes and yields `Result<R, JobError>` per item, in
    /// input order; see [`ProcessMap`] for its options (`.chunksize(n)`, `.in_flight(n)`).
    ///
    /// The map is lazy and owned (it holds a clone of the pool): nothing is submitted before the
    /// first `next()`, and the input is consumed as results are taken, so an endless iterator is
    /// fine. Iterating blocks the calling thread.
    ///
    /// # Examples
    ///
    /// ```
    /// fn square(x: u32) -> u32 {
    ///     x * x
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().max_workers(2).build().unwrap();
    ///     let squares: Result<Vec<u32>, _> = pool.map(square, 1..=5).chunksize(2).collect();
    ///     assert_eq!(squares, Ok(vec![1, 4, 9, 16, 25]));
    /// }
    /// ```
    pub fn map<A, R, I>(&self, f: fn(A) -> R, items: I) -> ProcessMap<A, R, I::IntoIter>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        ProcessMap::new(self.clone(), f, items.into_iter())
    }

    /// Submits one `map` chunk: `f` over `chunk`, one result or panic message per item.
    pub(super) fn submit_chunk<A, R>(
        &self,
        f: fn(A) -> R,
        chunk: &[A],
    ) -> Result<ConcurrentFuture<Vec<Result<R, String>>>, SubmitError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let tramp = code::chunk_trampoline::<A, R>;
        let job = self.prepare::<[A], Vec<Result<R, String>>>(f as usize, tramp, chunk, None)?;
        self.inner.offer(job, WhenFull::Wait)
    }

    /// Refuses early on a closed or broken pool, else encodes the task and makes its job and future.
    fn prepare<In, Out>(
        &self,
        f: usize,
        tramp: Trampoline,
        args: &In,
        limit: Option<Duration>,
    ) -> Result<(Job, ConcurrentFuture<Out>), SubmitError>
    where
        In: Serialize + ?Sized,
        Out: DeserializeOwned + Send + 'static,
    {
        if let Some(e) = refusal(&lock(&self.inner.shared.inbox)) {
            return Err(e);
        }
        let (id, frame) = self.inner.encode_task(f, tramp, args)?;
        Ok(self.inner.new_job::<Out>(id, frame, limit))
    }

    /// The most worker processes the pool runs at once.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::process::init();
    /// let pool = tulip::ProcessPool::builder().max_workers(3).build().unwrap();
    /// assert_eq!(pool.max_workers(), 3);
    /// ```
    pub fn max_workers(&self) -> usize {
        self.inner.shared.config.max_workers
    }

    /// True once the pool was shut down (by a call, or by the drop of its last handle's clones).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::process::init();
    /// let pool = tulip::ProcessPool::builder().max_workers(1).build().unwrap();
    /// pool.shutdown();
    /// assert!(pool.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        lock(&self.inner.shared.inbox).closing.is_some()
    }

    /// Statistics of the pool right now.
    ///
    /// `queued` counts the tasks in the pool's queue, waiting for a worker (the queue that
    /// `queue_capacity` bounds); `running`, the tasks sent to a worker, including the few sent ahead
    /// of time that wait inside it behind the one it runs. `completed + failed + cancelled` is the
    /// number of tasks that ended; a task killed by its run-time limit counts in `failed`; the
    /// process-pool extras `worker_deaths` and `workers_started` are filled in. Each task submitted
    /// before the call is in exactly one of those places (see [`PoolStats`]).
    ///
    /// # Examples
    ///
    /// ```
    /// fn one(_: ()) -> u8 {
    ///     1
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().max_workers(1).build().unwrap();
    ///     pool.submit(one, ()).unwrap().wait().unwrap();
    ///     let s = pool.stats();
    ///     assert_eq!((s.completed, s.failed, s.cancelled), (1, 0, 0));
    ///     assert_eq!(s.max_workers, 1);
    /// }
    /// ```
    pub fn stats(&self) -> PoolStats {
        let shared = &self.inner.shared;
        // The ended counters move only under this lock, with the gauges (see `driver::Ended`), and
        // the queue's own pushes are read under it too: each task shows in one place only.
        let published = lock(&shared.stats);
        let mut s = *published;
        let c = &shared.counters;
        s.completed = c.completed.load(Ordering::Acquire);
        s.failed = c.failed.load(Ordering::Acquire);
        s.cancelled = c.cancelled.load(Ordering::Acquire);
        s.queued += lock(&shared.inbox).pushed;
        drop(published);
        s.worker_deaths = c.worker_deaths.load(Ordering::Acquire);
        s.workers_started = c.workers_started.load(Ordering::Acquire);
        s.queue_wait_total = Duration::from_nanos(c.queue_wait_ns.load(Ordering::Acquire));
        s.queue_wait_max = Duration::from_nanos(c.queue_wait_max_ns.load(Ordering::Acquire));
        s.max_workers = shared.config.max_workers;
        s
    }

    /// Takes no new tasks from now on and returns at once (`concurrent.futures`'
    /// `shutdown(wait=False)`): tasks queued or running go on, and workers exit as soon as nothing
    /// is left for them. Later submits fail with [`SubmitError::ShutDown`]. Dropping the last handle
    /// does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// fn slow(ms: u64) -> u64 {
    ///     std::thread::sleep(std::time::Duration::from_millis(ms));
    ///     ms
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().max_workers(1).build().unwrap();
    ///     let first = pool.submit(slow, 20).unwrap();
    ///     pool.shutdown();
    ///     assert_eq!(first.wait(), Ok(20));
    ///     assert_eq!(pool.submit(slow, 1).unwrap_err(), tulip::SubmitError::ShutDown);
    /// }
    /// ```
    pub fn shutdown(&self) {
        self.inner.request(Closing { deadline: None, kill: false });
    }

    /// [`shutdown`](Self::shutdown), then waits up to `timeout` for every queued and running task.
    /// At the deadline, tasks still queued fail with [`JobError::ShutDown`] (counted `cancelled`),
    /// and tasks still running are killed with their workers and fail with `ShutDown` too (counted
    /// `still_running`). Returns once every worker is reaped.
    ///
    /// `Duration::ZERO` ends everything now; `Duration::MAX` waits for all the work. Called from a
    /// done-callback on the pool's driver thread, it cannot wait: it returns at once, counting the
    /// tasks not yet ended as `still_running`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// fn sleep_ms(ms: u64) {
    ///     std::thread::sleep(Duration::from_millis(ms));
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().max_workers(1).build().unwrap();
    ///     let stuck = pool.submit(sleep_ms, 60_000).unwrap();
    ///     while pool.stats().running == 0 { std::thread::yield_now(); }
    ///     let report = pool.shutdown_timeout(Duration::from_millis(100));
    ///     assert_eq!(report.still_running, 1);
    ///     assert_eq!(stuck.wait(), Err(tulip::JobError::ShutDown));
    /// }
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration) -> ShutdownReport {
        // A deadline too far to represent is none: a plain graceful shutdown.
        let deadline = Instant::now().checked_add(timeout);
        self.inner.request(Closing { deadline, kill: false });
        if std::thread::current().id() == self.inner.driver_thread {
            let s = self.stats();
            return ShutdownReport { cancelled: 0, still_running: s.queued + s.running };
        }
        self.inner.wait_finished()
    }
}

impl Handle {
    /// Sends `job` straight to an idle worker, or queues it (as `when_full` says if the queue is
    /// full); returns its future, or why the pool refused it (with the job, which is dropped unrun).
    fn offer<R: Send + 'static>(
        &self,
        (job, fut): (Job, ConcurrentFuture<R>),
        when_full: WhenFull,
    ) -> Result<ConcurrentFuture<R>, SubmitError> {
        match self.admit(job, when_full) {
            Ok(direct) => Ok(self.helped(fut, direct)),
            Err((_, e)) => Err(e),
        }
    }

    /// `fut`, whose blocking waits watch the link of the worker its task went to straight, if
    /// remote (see `driver::help`).
    fn helped<R: Send + 'static>(
        &self,
        fut: ConcurrentFuture<R>,
        direct: Option<driver::Direct>,
    ) -> ConcurrentFuture<R> {
        #[cfg(waiter_help)]
        if let Some(link) = direct {
            fut.set_helper(Arc::new(driver::DirectWait::new(Arc::downgrade(&self.core), link)));
        }
        #[cfg(not(waiter_help))]
        let _ = direct;
        fut
    }

    /// Admits `job`: to an idle worker, else to the queue; gives it back with the refusal. Sent
    /// straight to a remote worker, it comes with what its waiter may watch (see `driver::help`).
    fn admit(
        &self,
        job: Job,
        when_full: WhenFull,
    ) -> Result<Option<driver::Direct>, (Box<Job>, SubmitError)> {
        let job = match try_lock(&self.core) {
            Some(mut core) => match core.try_direct(job) {
                Ok(direct) => return Ok(direct),
                Err(job) => job,
            },
            None => job,
        };
        let shared = &self.shared;
        let mut inbox = lock(&shared.inbox);
        loop {
            if let Some(e) = refusal(&inbox) {
                return Err((Box::new(job), e));
            }
            if shared.config.queue_capacity.is_none_or(|cap| inbox.queue.len() < cap) {
                break;
            }
            if when_full == WhenFull::Refuse {
                return Err((Box::new(job), SubmitError::QueueFull));
            }
            if std::thread::current().id() == self.driver_thread {
                return Err((Box::new(job), SubmitError::WouldDeadlock));
            }
            inbox = shared.room.wait(inbox).unwrap_or_else(|e| e.into_inner());
        }
        inbox.queue.push_back(job);
        inbox.pushed += 1;
        drop(inbox);
        if let Err(e) = shared.poller.notify() {
            log::error!("tulip: could not wake the process pool's driver: {e}");
        }
        Ok(None)
    }

    /// Encodes a task frame: a fresh id, the two function offsets, the arguments.
    fn encode_task<In: Serialize + ?Sized>(
        &self,
        f: usize,
        tramp: Trampoline,
        args: &In,
    ) -> Result<(u64, Vec<u8>), SubmitError> {
        let fn_off = code::offset_of(f).map_err(SubmitError::Encode)?;
        let tramp_off = code::offset_of(tramp as usize).map_err(SubmitError::Encode)?;
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut frame = Vec::with_capacity(wire::TASK_HEADER + 16);
        let at = wire::begin_task(&mut frame, id, fn_off, tramp_off);
        let max = self.shared.config.max_frame_size;
        let room = max.saturating_sub(wire::TASK_HEADER - wire::PREFIX);
        code::encode_capped(args, &mut frame, room, "the arguments").map_err(SubmitError::Encode)?;
        wire::end_frame(&mut frame, at, max).map_err(|len| {
            SubmitError::Encode(format!(
                "the task encodes to {len} bytes, over the pool's max_frame_size of {max} bytes"
            ))
        })?;
        Ok((id, frame))
    }

    /// The job for an encoded task, and its future: `cancel()` while it runs stops it, a cancel
    /// while queued or a drop skips it, and a blocking wait on the driver thread is refused.
    fn new_job<Out: DeserializeOwned + Send + 'static>(
        &self,
        id: u64,
        frame: Vec<u8>,
        limit: Option<Duration>,
    ) -> (Job, ConcurrentFuture<Out>) {
        let pool = Arc::downgrade(&self.shared);
        let ctl = Arc::new(JobCtl { id, pool, cancel: AtomicU8::new(CANCEL_NONE) });
        let c = ctl.clone();
        let (promise, fut) = future::pair::<Out>(Options {
            canceller: Some(Box::new(move || c.stop(CANCEL_USER))),
            needs_loop: None,
            running: false,
            drop_error: JobError::ShutDown,
        });
        let c = ctl.clone();
        // Done-callbacks run on the driver thread, which alone completes these futures.
        let unwanted = move || {
            c.stop(CANCEL_UNWANTED);
        };
        fut.guard_producer(self.driver_thread, Box::new(unwanted));
        let sink = Box::new(TypedSink { promise, outcome: None });
        let limit = limit.or(self.shared.config.task_timeout);
        let job = Job {
            id,
            frame,
            submitted: Instant::now(),
            ctl,
            sink,
            deaths_at_head: 0,
            limit,
            #[cfg(feature = "tracing")]
            trace: super::trace::Origin::capture(),
        };
        (job, fut)
    }

    fn request(&self, closing: Closing) {
        lock(&self.shared.inbox).close(closing);
        self.shared.wake_submitters();
        if let Err(e) = self.shared.poller.notify() {
            log::error!("tulip: could not wake the process pool's driver: {e}");
        }
    }

    /// Waits for the driver to stop; returns what a deadline cut short.
    fn wait_finished(&self) -> ShutdownReport {
        let report = {
            let mut fin = lock(&self.shared.finished);
            loop {
                if let Some(report) = *fin {
                    break report;
                }
                fin = self.shared.finished_cv.wait(fin).unwrap_or_else(|e| e.into_inner());
            }
        };
        if let Some(h) = lock(&self.driver).take() {
            let _ = h.join();
        }
        report
    }
}

impl Drop for Handle {
    /// The last handle is gone: a graceful [`shutdown`](ProcessPool::shutdown) that does not block.
    /// The driver thread runs on until the tasks already submitted are done, then lets the workers
    /// go and reaps them.
    fn drop(&mut self) {
        self.request(Closing { deadline: None, kill: false });
    }
}

impl fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPool").field("stats", &self.stats()).finish()
    }
}

/// [`EventLoop::run_in_executor`](crate::EventLoop::run_in_executor) with a process pool: the job
/// is a function and its arguments.
///
/// # Examples
///
/// ```
/// use tulip::Executor;
///
/// fn inc(x: u32) -> u32 {
///     x + 1
/// }
///
/// fn main() {
///     tulip::process::init();
///     let pool = tulip::ProcessPool::builder().max_workers(1).build().unwrap();
///     let job: (fn(u32) -> u32, u32) = (inc, 41);
///     assert_eq!(pool.submit_job(job).unwrap().wait(), Ok(42));
/// }
/// ```
impl<A, R> Executor<(fn(A) -> R, A)> for ProcessPool
where
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    type Output = R;

    fn submit_job(&self, (f, args): (fn(A) -> R, A)) -> Result<ConcurrentFuture<R>, SubmitError> {
        self.submit(f, args)
    }
}

/// A task waiting, without blocking its thread, for room in a [`ProcessPool`]'s bounded queue
/// (from [`ProcessPool::submit_async`]); resolves to the task's future once it is queued, or to
/// why the pool refused it.
///
/// # Examples
///
/// ```
/// fn neg(x: i8) -> i8 {
///     -x
/// }
///
/// fn main() {
///     tulip::process::init();
///     let pool = tulip::ProcessPool::builder().max_workers(1).build().unwrap();
///     let fut = futures_lite::future::block_on(pool.submit_async(neg, 5)).unwrap();
///     assert_eq!(fut.wait(), Ok(-5));
/// }
/// ```
#[must_use = "the task is submitted only when this future is polled"]
pub struct ProcessSubmitFuture<R> {
    pool: Arc<Handle>,
    /// The task not admitted yet, or the refusal not reported yet; `None` once handed out.
    state: Result<Option<(Job, ConcurrentFuture<R>)>, Option<SubmitError>>,
}

impl<R> Unpin for ProcessSubmitFuture<R> {}

impl<R: Send + 'static> Future for ProcessSubmitFuture<R> {
    type Output = Result<ConcurrentFuture<R>, SubmitError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (job, fut) = match &mut this.state {
            Err(e) => return Poll::Ready(Err(e.take().unwrap_or(SubmitError::ShutDown))),
            Ok(slot) => match slot.take() {
                Some(pending) => pending,
                None => return Poll::Ready(Err(SubmitError::ShutDown)),
            },
        };
        if this.pool.shared.config.queue_capacity.is_some() {
            // Registered before trying, so room made between the try and the wait is not missed.
            lock(&this.pool.shared.inbox).room_wakers.push(cx.waker().clone());
        }
        match this.pool.admit(job, WhenFull::Refuse) {
            Ok(direct) => Poll::Ready(Ok(this.pool.helped(fut, direct))),
            Err((job, SubmitError::QueueFull)) => {
                this.state = Ok(Some((*job, fut)));
                Poll::Pending
            }
            Err((_, e)) => Poll::Ready(Err(e)),
        }
    }
}

impl<R> fmt::Debug for ProcessSubmitFuture<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessSubmitFuture").field("waiting", &matches!(self.state, Ok(Some(_)))).finish()
    }
}
