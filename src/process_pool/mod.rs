//! [`ProcessPool`]: the parent's side of process pools: the pool, its builder, statistics and `map`.
//!
//! The user-facing story (the model, what each failure does, `init` and tests, the implementation,
//! the caveats) is in the public [`process`] module. This module owns the pieces:
//!
//! - `mod.rs` (here): [`ProcessPool`], [`ProcessPoolBuilder`], [`ProcessPoolStats`], [`ProcessMap`],
//!   and the state shared between the pool handle, the futures' cancellers and the driver;
//! - `driver/`: the driver thread (all parent-side I/O, dispatch, timeouts, kills, reaping) and
//!   the process-wide spawner thread, one concern per module (see its docs);
//! - `worker.rs`: what a re-executed program does as a worker;
//! - `process.rs`: the public entry point, `init`;
//! - `wire.rs`: the frames on the pipes and their decoder;
//! - `code.rs`: function references as offsets, and the trampolines that call them;
//! - `spawn.rs`: starting, signalling and reaping worker processes, the status page.
//!
//! # Implementation
//!
//! A task is a [`Job`]: its encoded frame (kept until the task is settled, so it can be re-sent to
//! another worker), a [`JobCtl`] shared with its future's canceller, and a [`Sink`] that owns the
//! typed promise. Jobs wait in [`Inbox::queue`] until the driver (or `submit`, for an idle worker)
//! sends them. The driver's state is behind a mutex it releases while it sleeps; `submit` only ever
//! try-locks it, so neither side can block the other for long and a done-callback that submits
//! cannot deadlock; one that waits on a task of the pool fails with `WouldDeadlock` (the driver
//! thread is what would complete it). A future that is cancelled while queued, or dropped, tells
//! the driver at once (`JobCtl::stop`), which takes its task out of the queue or has its worker
//! skip it.

mod channel;
mod child;
mod code;
mod driver;
pub mod process;
mod spawn;
mod wire;
mod worker;

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use polling::Poller;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{JobError, PoolError};
use crate::future::{self, ConcurrentFuture, Options, Promise};
use crate::thread_pool::Window;

use code::Trampoline;

/// How long a new worker may take to answer the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Smallest accepted `max_frame_size`: room for the handshake frames and any error message.
const MIN_FRAME_SIZE: usize = wire::HANDSHAKE_MAX;

/// Locks `m`, ignoring poisoning.
///
/// The process pool uses `std` locks even under `cfg(loom)` (its cross-process behaviour is tested
/// with real processes, not loom models), so it has its own helper rather than `crate::sync::lock`.
/// No tulip lock is held while user code runs: results are decoded (with the user's `Deserialize`)
/// and futures completed (with their done-callbacks) after the driver's round has released it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Locks `m` if nobody holds it (ignoring poisoning, like [`lock`]).
fn try_lock<T>(m: &Mutex<T>) -> Option<std::sync::MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(g) => Some(g),
        Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// Builds a [`ProcessPool`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// fn cube(x: i64) -> i64 {
///     x * x * x
/// }
///
/// fn main() {
///     tulip::process::init();
///     let pool = tulip::ProcessPool::builder()
///         .max_workers(2)
///         .min_workers(1)
///         .idle_timeout(Duration::from_secs(30))
///         .max_tasks_per_child(10_000)
///         .task_timeout(Duration::from_secs(60))
///         .max_frame_size(16 << 20)
///         .build()
///         .unwrap();
///     assert_eq!(pool.try_submit(cube, -3).unwrap().wait(), Ok(-27));
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ProcessPoolBuilder {
    config: Config,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) max_workers: usize,
    pub(crate) min_workers: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_tasks_per_child: Option<u64>,
    pub(crate) task_timeout: Option<Duration>,
    pub(crate) max_frame_size: usize,
}

impl Default for ProcessPoolBuilder {
    fn default() -> Self {
        ProcessPoolBuilder {
            config: Config {
                max_workers: cpus(),
                min_workers: 0,
                idle_timeout: Duration::from_secs(60),
                max_tasks_per_child: None,
                task_timeout: None,
                max_frame_size: 64 << 20,
            },
        }
    }
}

/// The number of CPUs, read once (it means reading cgroup files on Linux).
fn cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| num_cpus::get().max(1))
}

impl ProcessPoolBuilder {
    /// The most worker processes alive at once (default: the number of CPUs).
    ///
    /// A worker being replaced after `max_tasks_per_child` may briefly overlap with its successor.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = tulip::ProcessPool::builder().max_workers(4);
    /// # let _ = b;
    /// ```
    pub fn max_workers(mut self, n: usize) -> Self {
        self.config.max_workers = n;
        self
    }

    /// Workers kept alive even when idle (default 0); they are started by `build`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = tulip::ProcessPool::builder().max_workers(4).min_workers(2);
    /// # let _ = b;
    /// ```
    pub fn min_workers(mut self, n: usize) -> Self {
        self.config.min_workers = n;
        self
    }

    /// How long a worker beyond `min_workers` may stay without work before it exits (default 60 s;
    /// `Duration::MAX`: never).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = tulip::ProcessPool::builder().idle_timeout(std::time::Duration::from_secs(5));
    /// # let _ = b;
    /// ```
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.config.idle_timeout = d;
        self
    }

    /// Replace a worker by a fresh process after it ran this many tasks (default: never).
    ///
    /// Useful against slow leaks in native code the tasks call.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = tulip::ProcessPool::builder().max_tasks_per_child(1000);
    /// # let _ = b;
    /// ```
    pub fn max_tasks_per_child(mut self, n: usize) -> Self {
        self.config.max_tasks_per_child = Some(n as u64);
        self
    }

    /// Kill a task's worker when the task has run this long, and fail the task with
    /// [`JobError::TimedOut`] (default: no limit).
    ///
    /// The time counts from the moment the task starts in its worker, not from `submit`. A limit
    /// too large to add to the clock (`Duration::MAX`) is none.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = tulip::ProcessPool::builder().task_timeout(std::time::Duration::from_secs(30));
    /// # let _ = b;
    /// ```
    pub fn task_timeout(mut self, d: Duration) -> Self {
        self.config.task_timeout = Some(d);
        self
    }

    /// The largest frame (encoded arguments or result, plus a few bytes of header) accepted on the
    /// pipes, in bytes (default 64 MiB, at least 4 KiB, at most 4 GiB − 1).
    ///
    /// Larger arguments fail at `submit` with [`PoolError::Encode`]; a larger result fails its task
    /// with [`JobError::Codec`]; a worker announcing a larger frame is killed.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = tulip::ProcessPool::builder().max_frame_size(1 << 20);
    /// # let _ = b;
    /// ```
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.config.max_frame_size = bytes;
        self
    }

    fn validate(&self) -> Result<(), PoolError> {
        let c = &self.config;
        let bad = |m: String| Err(PoolError::InvalidConfig(m));
        if c.max_workers == 0 {
            return bad("max_workers must be at least 1".into());
        }
        if c.min_workers > c.max_workers {
            return bad(format!(
                "min_workers ({}) is larger than max_workers ({})",
                c.min_workers, c.max_workers
            ));
        }
        if c.idle_timeout.is_zero() {
            return bad("idle_timeout must be longer than zero".into());
        }
        if c.max_tasks_per_child == Some(0) {
            return bad("max_tasks_per_child must be at least 1".into());
        }
        if c.task_timeout.is_some_and(|t| t.is_zero()) {
            return bad("task_timeout must be longer than zero".into());
        }
        if c.max_frame_size < MIN_FRAME_SIZE || c.max_frame_size > u32::MAX as usize {
            return bad(format!(
                "max_frame_size must be between {MIN_FRAME_SIZE} and {} bytes, not {}",
                u32::MAX,
                c.max_frame_size
            ));
        }
        Ok(())
    }

    /// Starts the pool: its driver thread and its first worker, whose handshake it waits for.
    ///
    /// # Errors
    ///
    /// - [`PoolError::InvalidConfig`] for a setting out of range;
    /// - [`PoolError::Handshake`] when [`process::init`] was not called in this
    ///   program, or the first worker failed the handshake (the message says why);
    /// - [`PoolError::Spawn`] when no worker process could be started.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::process::init();
    /// let err = tulip::ProcessPool::builder().max_workers(0).build().unwrap_err();
    /// assert!(matches!(err, tulip::PoolError::InvalidConfig(_)));
    /// ```
    pub fn build(self) -> Result<ProcessPool, PoolError> {
        self.validate()?;
        if std::env::var_os(spawn::ENV).is_some() {
            return Err(PoolError::Handshake(
                "this process was started as a tulip process-pool worker, but it is building a pool \
                 instead of calling tulip::process::init() first; make `tulip::process::init();` the \
                 first statement of main"
                    .into(),
            ));
        }
        if !process::init_called() {
            return Err(PoolError::Handshake(
                "tulip::process::init() was not called in this program. Workers are this program \
                 started again, and init() is what turns them into workers instead of running main a \
                 second time: make `tulip::process::init();` the first statement of main (for tests, \
                 use a `harness = false` test target whose main calls it first)"
                    .into(),
            ));
        }
        let token = spawn::new_token().map_err(PoolError::Spawn)?;
        let shared = Arc::new(Shared {
            config: self.config,
            inbox: Mutex::new(Inbox { queue: VecDeque::new(), cancels: Vec::new(), closing: None }),
            poller: Poller::new().map_err(PoolError::Spawn)?,
            next_id: AtomicU64::new(1),
            stats: Mutex::new(ProcessPoolStats::default()),
            counters: Counters::default(),
            finished: Mutex::new(None),
            finished_cv: Condvar::new(),
        });
        let (tx, rx) = crossbeam_channel::bounded(1);
        let mut driver = driver::Driver::new(shared.clone(), token, tx).map_err(PoolError::Spawn)?;
        // The first rounds run here: the worker's handshake reply wakes this thread directly.
        driver.start_up();
        match rx.try_recv() {
            Ok(Ok(())) => {}
            // Dropping the driver kills and reaps whatever was started.
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(PoolError::Spawn(std::io::Error::other("the process pool did not start"))),
        }
        let core = Arc::new(Mutex::new(driver));
        let handle = {
            let core = core.clone();
            std::thread::Builder::new()
                .name("tulip-process-pool".into())
                .spawn(move || driver::run(core))
                .map_err(PoolError::Spawn)?
        };
        Ok(ProcessPool {
            driver_thread: handle.thread().id(),
            driver: Mutex::new(Some(handle)),
            core,
            shared,
        })
    }
}

/// State shared by the pool handle, the futures' cancellers and the driver thread.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) inbox: Mutex<Inbox>,
    /// The driver's poller; `notify()` wakes the driver.
    pub(crate) poller: Poller,
    pub(crate) next_id: AtomicU64,
    /// Gauges published by the driver after each round (workers, active, idle, in flight).
    pub(crate) stats: Mutex<ProcessPoolStats>,
    /// Counters, bumped before the future they count is completed, so a caller that saw a result
    /// also sees it counted.
    pub(crate) counters: Counters,
    /// `Some(forced)` once the driver has stopped: all workers reaped, every job settled.
    pub(crate) finished: Mutex<Option<bool>>,
    pub(crate) finished_cv: Condvar,
}

/// The pool's monotonic counters.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) completed: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) timed_out: AtomicU64,
    pub(crate) panicked: AtomicU64,
    pub(crate) worker_deaths: AtomicU64,
    pub(crate) workers_started: AtomicU64,
    pub(crate) queue_wait_ns: AtomicU64,
    pub(crate) queue_wait_max_ns: AtomicU64,
}

/// What the pool's users hand to the driver.
pub(crate) struct Inbox {
    /// Tasks not yet sent to a worker, oldest first (re-queued tasks go back to the front).
    pub(crate) queue: VecDeque<Job>,
    /// Ids of tasks whose futures were cancelled or dropped (see [`JobCtl::cancel`]), to be taken
    /// out of the queue or skipped by their worker.
    pub(crate) cancels: Vec<u64>,
    /// The strongest shutdown requested so far; `Some` also means "closed to new tasks". The pool's
    /// one closed state: the handle, `submit` and the driver all read it here.
    pub(crate) closing: Option<Closing>,
}

impl Inbox {
    /// Records a shutdown request, merged with earlier ones towards the stronger.
    pub(crate) fn close(&mut self, c: Closing) {
        self.closing = Some(self.closing.map_or(c, |old| old.merge(c)));
    }
}

/// A shutdown request; requests merge towards the stronger one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closing {
    pub(crate) cancel_pending: bool,
    pub(crate) deadline: Option<Instant>,
    pub(crate) kill: bool,
}

impl Closing {
    fn merge(self, other: Closing) -> Closing {
        Closing {
            cancel_pending: self.cancel_pending || other.cancel_pending,
            deadline: match (self.deadline, other.deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            kill: self.kill || other.kill,
        }
    }
}

pub(crate) const CANCEL_NONE: u8 = 0;
pub(crate) const CANCEL_USER: u8 = 1;
pub(crate) const CANCEL_SHUTDOWN: u8 = 2;
pub(crate) const CANCEL_UNWANTED: u8 = 3;

/// Shared between a job and its future's canceller.
pub(crate) struct JobCtl {
    /// The task's id, which the driver finds it by.
    pub(crate) id: u64,
    /// The pool, told when the task is stopped; gone once the pool is.
    pub(crate) pool: Weak<Shared>,
    /// `CANCEL_*`: who asked for the task to stop, if anyone; set once. `USER`: `cancel()` on a
    /// task sent to a worker (killed if it runs). `UNWANTED`: cancelled while queued, or its future
    /// dropped (skipped if it has not started, else left to finish). `SHUTDOWN`: by
    /// `shutdown(cancel_pending)` (skipped if not started).
    pub(crate) cancel: AtomicU8,
}

impl JobCtl {
    /// Marks the task stopped by `why`; `false` if something stopped it first.
    pub(crate) fn mark(&self, why: u8) -> bool {
        self.cancel.compare_exchange(CANCEL_NONE, why, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Marks the task stopped by `why` (unless something stopped it first) and tells the driver,
    /// which takes it out of the queue, or has its worker skip or kill it. `false` if the pool is
    /// gone.
    fn stop(&self, why: u8) -> bool {
        let Some(shared) = self.pool.upgrade() else { return false };
        if self.mark(why) {
            lock(&shared.inbox).cancels.push(self.id);
            let _ = shared.poller.notify();
        }
        true
    }
}

/// One submitted task, as the driver handles it.
pub(crate) struct Job {
    pub(crate) id: u64,
    /// The complete task frame, kept until the task is settled so it can be re-sent to another worker.
    pub(crate) frame: Vec<u8>,
    pub(crate) submitted: Instant,
    pub(crate) ctl: Arc<JobCtl>,
    pub(crate) sink: Box<dyn Sink>,
    /// Workers that died while this task was next in line but had not started it. A task that kills
    /// every worker it reaches before it starts is failed after a few, instead of going round forever.
    pub(crate) deaths_at_head: u32,
}

/// Deaths of workers that had a task next in line but had not started it, after which that task
/// fails instead of going back to the queue once more (see [`Job::died_at_head`]).
const DEATHS_AT_HEAD_BEFORE_FAILING: u32 = 3;

impl Job {
    /// Notes that the worker holding this task as its next one died before starting it. Returns
    /// how many such deaths there were, if that is enough to fail the task rather than re-queue it.
    pub(crate) fn died_at_head(&mut self) -> Option<u32> {
        self.deaths_at_head += 1;
        (self.deaths_at_head >= DEATHS_AT_HEAD_BEFORE_FAILING).then_some(self.deaths_at_head)
    }
}

/// The typed end of a job: its promise, and how to decode its result.
pub(crate) trait Sink: Send {
    /// Marks the future running; `false` if it was cancelled or dropped while queued.
    fn start(&self) -> bool;
    /// Keeps `outcome` for [`complete`](Self::complete), a result as its encoded bytes: no user
    /// code runs here (the driver calls it under its lock).
    fn resolve(&mut self, outcome: Result<&[u8], JobError>);
    /// How many encoded bytes `complete` will decode.
    fn encoded_len(&self) -> usize;
    /// Decodes what `resolve` kept and completes the future: the user's `Deserialize` and the
    /// future's done-callbacks run here.
    fn complete(self: Box<Self>);
}

struct TypedSink<R> {
    promise: Promise<R>,
    /// Set by `resolve`; a sink completed without one reports the promise's drop error.
    outcome: Option<Result<Vec<u8>, JobError>>,
}

impl<R: DeserializeOwned + Send + 'static> Sink for TypedSink<R> {
    fn start(&self) -> bool {
        self.promise.start()
    }

    fn resolve(&mut self, outcome: Result<&[u8], JobError>) {
        self.outcome = Some(outcome.map(<[u8]>::to_vec));
    }

    fn encoded_len(&self) -> usize {
        self.outcome.as_ref().map_or(0, |o| o.as_ref().map_or(0, Vec::len))
    }

    fn complete(self: Box<Self>) {
        let TypedSink { promise, outcome } = *self;
        if let Some(outcome) = outcome {
            promise.complete(outcome.and_then(|bytes| decode::<R>(&bytes)));
        }
    }
}

/// Decodes a result; a user's `Deserialize` that panics fails only its task.
fn decode<R: DeserializeOwned>(bytes: &[u8]) -> Result<R, JobError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| code::decode_exact::<R>(bytes))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(JobError::Codec(format!("could not decode the result: {e}"))),
        Err(p) => Err(JobError::Codec(format!(
            "decoding the result panicked: {}",
            crate::error::panic_message(&*p)
        ))),
    }
}

/// Counters and gauges of a [`ProcessPool`], from [`ProcessPool::stats`].
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
///     pool.try_submit(one, ()).unwrap().wait().unwrap();
///     let s = pool.stats();
///     assert_eq!(s.completed, 1);
///     assert_eq!(s.max_workers, 1);
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessPoolStats {
    /// The configured maximum number of workers.
    pub max_workers: usize,
    /// Worker processes alive now (starting, working, idle or exiting).
    pub workers: usize,
    /// Workers running a task.
    pub active: usize,
    /// Workers ready and without work.
    pub idle: usize,
    /// Tasks submitted and not yet sent to a worker.
    pub queued: usize,
    /// Tasks sent to a worker whose result has not come back.
    pub in_flight: usize,
    /// Tasks a worker ran to the end (with a value, a panic or a codec error).
    pub completed: u64,
    /// Tasks that panicked (counted in `completed` too).
    pub panicked: u64,
    /// Tasks that ended cancelled, or were skipped because their future was dropped.
    pub cancelled: u64,
    /// Tasks killed by `task_timeout`.
    pub timed_out: u64,
    /// Workers that died without being asked to (crash, `exit`, a signal from outside, bad frame).
    pub worker_deaths: u64,
    /// Worker processes started since the pool was built.
    pub workers_started: u64,
    /// Total time tasks waited between `submit` and the moment they started in a worker.
    pub queue_wait_total: Duration,
    /// The longest time one task waited between `submit` and its start in a worker.
    pub queue_wait_max: Duration,
}

/// A pool of worker processes that run plain functions: real parallelism for CPU work, crash
/// isolation, and tasks that can be killed.
///
/// See the [`process`] module for the model and what each failure does. The pool is
/// `Send + Sync`; share it by reference or in an `Arc`.
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
///     assert_eq!(pool.try_submit(fib, 20).unwrap().wait(), Ok(6765));
///     // ...or from any async runtime.
///     let f = pool.try_submit(|s: String| s.len(), "tulip".to_string()).unwrap();
///     assert_eq!(futures_lite::future::block_on(f), Ok(5));
///     // A panic fails only its own task.
///     let bad = pool.try_submit(|x: u32| if x > 1 { panic!("too big: {x}") } else { x }, 9).unwrap();
///     assert_eq!(bad.wait(), Err(tulip::JobError::Panicked("too big: 9".into())));
///     pool.shutdown(true, false);
/// }
/// ```
pub struct ProcessPool {
    shared: Arc<Shared>,
    /// The driver's state; `submit` try-locks it to send straight to an idle worker.
    core: Arc<Mutex<driver::Driver>>,
    /// Taken by whoever joins the driver first.
    driver: Mutex<Option<JoinHandle<()>>>,
    /// Waiting for the driver from its own thread (a done-callback) would never end.
    driver_thread: ThreadId,
}

impl ProcessPool {
    /// A builder with the defaults: `max_workers` = number of CPUs, `min_workers` 0, `idle_timeout`
    /// 60 s, no `max_tasks_per_child`, no `task_timeout`, `max_frame_size` 64 MiB.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::process::init();
    /// let pool = tulip::ProcessPool::builder().build().unwrap();
    /// assert_eq!(pool.stats().max_workers, num_cpus::get());
    /// ```
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::default()
    }

    /// Runs `f(args)` in a worker process (the shape of the design's contract:
    /// `procs.submit(fib, 30).await?`).
    ///
    /// `f` is a plain `fn` or a non-capturing closure; `args` and the result travel with serde. A
    /// failure to accept the task is already in the returned future, which is then complete before
    /// anything was sent: [`JobError::ShutDown`] after a shutdown, [`JobError::Codec`] when the arguments
    /// cannot be encoded or exceed `max_frame_size`. Use [`try_submit`](Self::try_submit) to get those
    /// as a [`PoolError`] instead.
    ///
    /// # Examples
    ///
    /// ```
    /// fn fib(n: u64) -> u64 {
    ///     if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
    /// }
    ///
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     tulip::process::init();
    ///     let procs = tulip::ProcessPool::builder().max_workers(2).build()?;
    ///     let f = tulip::run(async { procs.submit(fib, 20u64).await })?;
    ///     assert_eq!(f, 6765);
    ///     Ok(())
    /// }
    /// ```
    pub fn submit<A, R>(&self, f: fn(A) -> R, args: A) -> ConcurrentFuture<R>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        match self.try_submit(f, args) {
            Ok(fut) => fut,
            Err(PoolError::ShutDown) => ConcurrentFuture::ready(Err(JobError::ShutDown)),
            Err(e) => ConcurrentFuture::ready(Err(JobError::Codec(e.to_string()))),
        }
    }

    /// Runs `f(args)` in a worker process.
    ///
    /// `f` is a plain function or a closure that captures nothing. The arguments are encoded here, on
    /// the calling thread; the result is decoded by the pool when it arrives.
    ///
    /// # Errors
    ///
    /// [`PoolError::ShutDown`] after a shutdown; [`PoolError::Encode`] when the arguments cannot be
    /// encoded, encode to more than `max_frame_size`, or `f` is not in the program's own code.
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
    ///     let fut = pool.try_submit(add, (40, 2)).unwrap();
    ///     assert_eq!(fut.wait(), Ok(42));
    /// }
    /// ```
    pub fn try_submit<A, R>(&self, f: fn(A) -> R, args: A) -> Result<ConcurrentFuture<R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_raw::<A, R>(f as usize, code::trampoline::<A, R>, &args)
    }

    /// Encodes one task and queues it; `Out` is what the trampoline's result decodes to.
    fn submit_raw<In, Out>(
        &self,
        f: usize,
        tramp: Trampoline,
        args: &In,
    ) -> Result<ConcurrentFuture<Out>, PoolError>
    where
        In: Serialize + ?Sized,
        Out: DeserializeOwned + Send + 'static,
    {
        let (id, frame) = self.encode_task(f, tramp, args)?;
        let (job, fut) = self.new_job::<Out>(id, frame);
        let job = match try_lock(&self.core) {
            Some(mut core) => match core.try_direct(job) {
                Ok(()) => return Ok(fut),
                Err(job) => job,
            },
            None => job,
        };
        {
            let mut inbox = lock(&self.shared.inbox);
            if inbox.closing.is_some() {
                return Err(PoolError::ShutDown);
            }
            inbox.queue.push_back(job);
        }
        if let Err(e) = self.shared.poller.notify() {
            log::error!("tulip: could not wake the process pool's driver: {e}");
        }
        Ok(fut)
    }

    /// Encodes a task frame: a fresh id, the two function offsets, the arguments.
    fn encode_task<In: Serialize + ?Sized>(
        &self,
        f: usize,
        tramp: Trampoline,
        args: &In,
    ) -> Result<(u64, Vec<u8>), PoolError> {
        let fn_off = code::offset_of(f).map_err(PoolError::Encode)?;
        let tramp_off = code::offset_of(tramp as usize).map_err(PoolError::Encode)?;
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut frame = Vec::with_capacity(wire::TASK_HEADER + 16);
        let at = wire::begin_task(&mut frame, id, fn_off, tramp_off);
        let max = self.shared.config.max_frame_size;
        let room = max.saturating_sub(wire::TASK_HEADER - wire::PREFIX);
        code::encode_capped(args, &mut frame, room, "the arguments").map_err(PoolError::Encode)?;
        wire::end_frame(&mut frame, at, max).map_err(|len| {
            PoolError::Encode(format!(
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
        (Job { id, frame, submitted: Instant::now(), ctl, sink, deaths_at_head: 0 }, fut)
    }

    /// Runs `f` on every item, in worker processes, and yields the results in order.
    ///
    /// Items are sent in chunks of `chunksize` (one task per chunk, which amortizes the round trip
    /// for small items), and at most `2 × max_workers` chunks are in flight: the input is consumed
    /// lazily as results are taken, so an endless iterator is fine. A panic fails only its own item;
    /// a worker that dies fails the items of its chunk. Iterating blocks the calling thread.
    ///
    /// # Errors
    ///
    /// [`PoolError::InvalidConfig`] for a `chunksize` of 0, [`PoolError::ShutDown`] after a shutdown.
    /// Errors that happen later (an item that cannot be encoded, a shutdown in the middle) are
    /// yielded in the place of the items they concern.
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
    ///     let squares: Result<Vec<u32>, _> = pool.map(square, 1..=5, 2).unwrap().collect();
    ///     assert_eq!(squares, Ok(vec![1, 4, 9, 16, 25]));
    /// }
    /// ```
    pub fn map<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: usize,
    ) -> Result<ProcessMap<'_, A, R, I::IntoIter>, PoolError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        if chunksize == 0 {
            return Err(PoolError::InvalidConfig("map chunksize must be at least 1".into()));
        }
        if lock(&self.shared.inbox).closing.is_some() {
            return Err(PoolError::ShutDown);
        }
        Ok(ProcessMap {
            pool: self,
            f,
            items: Some(items.into_iter()),
            chunksize,
            window: Window::new(2 * self.shared.config.max_workers),
            ready: Vec::new().into_iter(),
            _a: PhantomData,
        })
    }

    /// Stops taking tasks and lets the pool wind down; with `wait`, returns once every worker has
    /// exited and been reaped.
    ///
    /// Tasks already submitted still run, unless `cancel_pending`: then tasks that have not started
    /// end with [`JobError::ShutDown`] (running ones finish). Workers exit as soon as nothing is left
    /// for them. Later calls to `submit` fail with [`PoolError::ShutDown`]. Without `wait`, the
    /// shutdown goes on in the background, even if the pool is dropped meanwhile.
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
    ///     let first = pool.try_submit(slow, 50).unwrap();
    ///     while pool.stats().active == 0 { std::thread::yield_now(); }
    ///     let second = pool.try_submit(slow, 50).unwrap();
    ///     pool.shutdown(true, true);
    ///     assert_eq!(first.wait(), Ok(50));
    ///     assert_eq!(second.wait(), Err(tulip::JobError::ShutDown));
    ///     assert!(matches!(pool.try_submit(slow, 1), Err(tulip::PoolError::ShutDown)));
    /// }
    /// ```
    pub fn shutdown(&self, wait: bool, cancel_pending: bool) {
        self.request(Closing { cancel_pending, deadline: None, kill: false });
        if wait {
            self.wait_finished();
        }
    }

    /// Shuts down gracefully (tasks already submitted still run) for at most `timeout`, then kills
    /// the workers that are left; returns `true` if nothing had to be killed.
    ///
    /// Tasks stopped at the deadline end with [`JobError::ShutDown`]. Returns once every worker is
    /// reaped. A `timeout` too large to add to the clock (`Duration::MAX`) waits for all the work.
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
    ///     let stuck = pool.try_submit(sleep_ms, 60_000).unwrap();
    ///     assert!(!pool.shutdown_timeout(Duration::from_millis(100)));
    ///     assert_eq!(stuck.wait(), Err(tulip::JobError::ShutDown));
    /// }
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration) -> bool {
        self.request(Closing {
            cancel_pending: false,
            // A deadline too far to represent is none: a plain graceful shutdown.
            deadline: Instant::now().checked_add(timeout),
            kill: false,
        });
        !self.wait_finished()
    }

    /// Statistics of the pool right now.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::process::init();
    /// let pool = tulip::ProcessPool::builder().max_workers(3).build().unwrap();
    /// let s = pool.stats();
    /// assert_eq!(s.queued, 0);
    /// assert!(s.workers >= 1 && s.workers <= 3);
    /// ```
    pub fn stats(&self) -> ProcessPoolStats {
        let mut s = lock(&self.shared.stats).clone();
        let c = &self.shared.counters;
        s.completed = c.completed.load(Ordering::Acquire);
        s.cancelled = c.cancelled.load(Ordering::Acquire);
        s.timed_out = c.timed_out.load(Ordering::Acquire);
        s.panicked = c.panicked.load(Ordering::Acquire);
        s.worker_deaths = c.worker_deaths.load(Ordering::Acquire);
        s.workers_started = c.workers_started.load(Ordering::Acquire);
        s.queue_wait_total = Duration::from_nanos(c.queue_wait_ns.load(Ordering::Acquire));
        s.queue_wait_max = Duration::from_nanos(c.queue_wait_max_ns.load(Ordering::Acquire));
        s.max_workers = self.shared.config.max_workers;
        s.queued = lock(&self.shared.inbox).queue.len();
        s
    }

    fn request(&self, closing: Closing) {
        lock(&self.shared.inbox).close(closing);
        if let Err(e) = self.shared.poller.notify() {
            log::error!("tulip: could not wake the process pool's driver: {e}");
        }
    }

    /// Waits for the driver to stop; returns whether work was killed at a deadline.
    fn wait_finished(&self) -> bool {
        if std::thread::current().id() == self.driver_thread {
            return false;
        }
        let forced = {
            let mut fin = lock(&self.shared.finished);
            loop {
                if let Some(forced) = *fin {
                    break forced;
                }
                fin = self.shared.finished_cv.wait(fin).unwrap_or_else(|e| e.into_inner());
            }
        };
        if let Some(h) = lock(&self.driver).take() {
            let _ = h.join();
        }
        forced
    }
}

impl Drop for ProcessPool {
    /// Kills the workers (their tasks end with [`JobError::ShutDown`]) and reaps them before
    /// returning; a graceful [`shutdown`](Self::shutdown) already under way is left to finish in the
    /// background instead.
    fn drop(&mut self) {
        let graceful = lock(&self.shared.inbox).closing.is_some_and(|c| !c.kill);
        let finished = lock(&self.shared.finished).is_some();
        if graceful && !finished {
            return;
        }
        self.request(Closing { cancel_pending: true, deadline: None, kill: true });
        self.wait_finished();
    }
}

impl fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPool").field("stats", &self.stats()).finish()
    }
}

/// One chunk of a [`ProcessMap`]: its future, or why it could not be submitted; and its size.
enum Chunk<R> {
    Running(ConcurrentFuture<Vec<Result<R, String>>>, usize),
    Failed(JobError, usize),
}

impl<R: Send + 'static> Chunk<R> {
    /// Waits for the chunk and yields one result per item.
    fn results(self) -> Vec<Result<R, JobError>> {
        let (e, n) = match self {
            Chunk::Running(fut, n) => match fut.wait() {
                Ok(v) if v.len() == n => {
                    return v.into_iter().map(|r| r.map_err(JobError::Panicked)).collect()
                }
                Ok(v) => {
                    (JobError::Codec(format!("a chunk of {n} items came back with {} results", v.len())), n)
                }
                Err(e) => (e, n),
            },
            Chunk::Failed(e, n) => (e, n),
        };
        (0..n).map(|_| Err(e.clone())).collect()
    }
}

/// The results of [`ProcessPool::map`], in input order.
///
/// Each item is `Ok(f(item))` or the [`JobError`] of that item. Dropping it skips the chunks not
/// started yet, including those already sent to a worker; a chunk that runs finishes.
///
/// # Examples
///
/// ```
/// fn half(x: u8) -> u8 {
///     assert!(x % 2 == 0, "odd");
///     x / 2
/// }
///
/// fn main() {
///     tulip::process::init();
///     let pool = tulip::ProcessPool::builder().max_workers(1).build().unwrap();
///     let out: Vec<_> = pool.map(half, [2, 3, 4], 3).unwrap().collect();
///     assert_eq!(out[0], Ok(1));
///     assert_eq!(out[1], Err(tulip::JobError::Panicked("odd".into())));
///     assert_eq!(out[2], Ok(2));
/// }
/// ```
pub struct ProcessMap<'a, A, R, I> {
    pool: &'a ProcessPool,
    f: fn(A) -> R,
    /// `None` once exhausted, or once the pool refused a chunk for a shutdown.
    items: Option<I>,
    chunksize: usize,
    /// Chunks submitted and not yet yielded, at most `2 × max_workers`.
    window: Window<Chunk<R>>,
    /// Results of the oldest chunk not yet yielded.
    ready: std::vec::IntoIter<Result<R, JobError>>,
    _a: PhantomData<fn(A)>,
}

/// Submits the next chunk of `items` (`None` once there is none).
fn submit_chunk<A, R, I>(
    pool: &ProcessPool,
    f: fn(A) -> R,
    items: &mut Option<I>,
    chunksize: usize,
) -> Option<Chunk<R>>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    let chunk: Vec<A> = items.as_mut()?.take(chunksize).collect();
    if chunk.is_empty() {
        *items = None;
        return None;
    }
    let n = chunk.len();
    let submitted =
        pool.submit_raw::<Vec<A>, Vec<Result<R, String>>>(f as usize, code::chunk_trampoline::<A, R>, &chunk);
    Some(match submitted {
        Ok(fut) => Chunk::Running(fut, n),
        Err(PoolError::ShutDown) => {
            // Nothing more will run: stop consuming the input (it may be endless).
            *items = None;
            Chunk::Failed(JobError::ShutDown, n)
        }
        Err(e) => Chunk::Failed(JobError::Codec(e.to_string()), n),
    })
}

impl<A, R, I> Iterator for ProcessMap<'_, A, R, I>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    type Item = Result<R, JobError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.ready.next() {
                return Some(r);
            }
            let (pool, f, items, chunksize) = (self.pool, self.f, &mut self.items, self.chunksize);
            let chunk = self.window.next(|| submit_chunk(pool, f, items, chunksize))?;
            self.ready = chunk.results().into_iter();
        }
    }
}

impl<A, R, I> fmt::Debug for ProcessMap<'_, A, R, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessMap")
            .field("chunksize", &self.chunksize)
            .field("chunks_in_flight", &self.window.len())
            .field("exhausted", &self.items.is_none())
            .finish()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A sink that only remembers that nothing completed it.
    struct Unused;

    impl Sink for Unused {
        fn start(&self) -> bool {
            true
        }
        fn resolve(&mut self, _: Result<&[u8], JobError>) {}
        fn encoded_len(&self) -> usize {
            0
        }
        fn complete(self: Box<Self>) {}
    }

    /// A job with no future behind it, stopped as `cancel` says (a `CANCEL_*`).
    pub(crate) fn job(id: u64, cancel: u8) -> Job {
        Job {
            id,
            frame: Vec::new(),
            submitted: Instant::now(),
            ctl: Arc::new(JobCtl { id, pool: Weak::new(), cancel: AtomicU8::new(cancel) }),
            sink: Box::new(Unused),
            deaths_at_head: 0,
        }
    }

    #[test]
    fn a_task_next_in_line_at_every_worker_death_fails_after_a_few() {
        let mut job = job(1, CANCEL_NONE);
        // Bad luck once or twice: back to the queue.
        assert_eq!(job.died_at_head(), None);
        assert_eq!(job.died_at_head(), None);
        // A pattern: it is failed, and the count goes into its error.
        assert_eq!(job.died_at_head(), Some(DEATHS_AT_HEAD_BEFORE_FAILING));
    }
}
