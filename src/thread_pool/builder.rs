//! [`ThreadPoolBuilder`]: a pool's settings, checked once by `build`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::core::{Config, Initializer, Shared};
use super::state::{Factories, Factory};
use super::ThreadPool;
use crate::error::BuildError;

/// How long an idle worker busy-waits for the next job before it parks, by default.
///
/// Long enough to cover a loop's turn between receiving one result and submitting the next job (a few
/// microseconds), short enough that an idle pool costs nothing measurable.
pub(super) const DEFAULT_IDLE_SPIN: Duration = crate::spin::DEFAULT_LIMIT;

/// How long an idle worker stays before it exits, by default.
pub(super) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings for a [`ThreadPool`]; made by [`ThreadPool::builder`].
///
/// Every setting has a default, so `ThreadPool::builder().build()` is a working pool:
///
/// | setting | default |
/// |---|---|
/// | [`max_workers`](Self::max_workers) | `min(32, number of CPUs + 4)` (Python's `ThreadPoolExecutor`) |
/// | [`thread_name_prefix`](Self::thread_name_prefix) | `"tulip-worker"` (threads are `tulip-worker-0`, `-1`, ...) |
/// | [`stack_size`](Self::stack_size) | the standard library's (2 MiB, or `RUST_MIN_STACK`) |
/// | [`initializer`](Self::initializer) | none |
/// | [`idle_timeout`](Self::idle_timeout) | 10 s |
/// | [`worker_state`](Self::worker_state) | none |
/// | [`queue_capacity`](Self::queue_capacity) | unbounded |
/// | [`idle_spin`](Self::idle_spin) | 40 µs |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let pool = tulip::ThreadPool::builder()
///     .max_workers(4)
///     .thread_name_prefix("db")
///     .idle_timeout(Duration::from_secs(30))
///     .queue_capacity(1000)
///     .build()
///     .unwrap();
/// assert_eq!(pool.max_workers(), 4);
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct ThreadPoolBuilder {
    max_workers: Option<usize>,
    thread_name_prefix: String,
    stack_size: Option<usize>,
    initializer: Option<Initializer>,
    idle_timeout: Duration,
    queue_capacity: Option<usize>,
    idle_spin: Duration,
    states: Factories,
}

impl ThreadPoolBuilder {
    pub(super) fn new() -> Self {
        ThreadPoolBuilder {
            max_workers: None,
            thread_name_prefix: "tulip-worker".to_string(),
            stack_size: None,
            initializer: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            queue_capacity: None,
            idle_spin: DEFAULT_IDLE_SPIN,
            states: Factories::new(),
        }
    }

    /// The most threads the pool runs at once (at least 1). Threads start only when jobs need them.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().max_workers(2).build().unwrap();
    /// assert_eq!(pool.max_workers(), 2);
    /// assert!(tulip::ThreadPool::builder().max_workers(0).build().is_err());
    /// ```
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n);
        self
    }

    /// The prefix of worker thread names: workers are named `{prefix}-{n}`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().thread_name_prefix("db").build().unwrap();
    /// let name = pool.submit(|| std::thread::current().name().map(String::from)).unwrap().wait();
    /// assert_eq!(name.unwrap().as_deref(), Some("db-0"));
    /// ```
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name_prefix = prefix.into();
        self
    }

    /// The stack size of worker threads, in bytes (not 0).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().stack_size(256 * 1024).build().unwrap();
    /// assert_eq!(pool.submit(|| 1).unwrap().wait(), Ok(1));
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// A function each new worker thread runs once, before its first job (open a per-thread
    /// connection, set thread-local state).
    ///
    /// If it fails (returns `Err`, or panics), the pool is **broken**, as with Python's
    /// `BrokenThreadPool`: the jobs still queued fail with [`JobError::Initializer`], later submits
    /// fail with [`SubmitError::Broken`], and jobs already running on other workers finish
    /// normally. Since threads start lazily, `build` cannot run it, so the failure shows up at the
    /// first job.
    ///
    /// [`JobError::Initializer`]: crate::JobError::Initializer
    /// [`SubmitError::Broken`]: crate::SubmitError::Broken
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::{JobError, SubmitError, ThreadPool};
    ///
    /// let pool = ThreadPool::builder().initializer(|| Err("no database")).build().unwrap();
    /// let first = pool.submit(|| 1).unwrap();
    /// assert!(matches!(first.wait(), Err(JobError::Initializer(m)) if m == "no database"));
    /// // The pool is now broken.
    /// assert!(matches!(pool.submit(|| 2), Err(SubmitError::Broken(_))));
    /// ```
    pub fn initializer<F, E>(mut self, f: F) -> Self
    where
        F: Fn() -> Result<(), E> + Send + Sync + 'static,
        E: fmt::Display,
    {
        self.initializer = Some(Arc::new(move || f().map_err(|e| e.to_string())));
        self
    }

    /// How long a worker waits idle for a job before its thread exits (default 10 s).
    ///
    /// Idle workers are woken most-recent-first, so under a light load the same few threads take all
    /// the jobs and the rest reach their idle timeout and exit. `Duration::MAX` keeps threads forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = tulip::ThreadPool::builder().idle_timeout(Duration::from_millis(10)).build().unwrap();
    /// pool.submit(|| ()).unwrap().wait().unwrap();
    /// while pool.stats().workers > 0 {
    ///     std::thread::sleep(Duration::from_millis(5));
    /// }
    /// ```
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// A per-worker state of type `S`: `make` runs on a worker thread the first time a job submitted
    /// with [`ThreadPool::submit_with_state`] for `S` runs there, and the state is kept for the
    /// thread's life and lent (`&mut S`) to each such job on that thread. A database connection, a
    /// parser, a scratch buffer: anything costly to make and not shareable between threads (`S` need
    /// not be `Send`).
    ///
    /// Several state types may be registered (one factory per type; a second one for the same type
    /// replaces the first). If `make` fails, the job that needed it fails with
    /// [`JobError::Initializer`](crate::JobError::Initializer) and the pool stays usable: the next
    /// job on that thread tries again. A job that panics drops its worker's state; the next job makes a
    /// new one.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder()
    ///     .max_workers(1)
    ///     .worker_state(|| Ok::<_, std::io::Error>(Vec::<u32>::new()))
    ///     .build()
    ///     .unwrap();
    /// pool.submit_with_state(|seen: &mut Vec<u32>| seen.push(1)).unwrap().wait().unwrap();
    /// let len = pool.submit_with_state(|seen: &mut Vec<u32>| { seen.push(2); seen.len() }).unwrap();
    /// assert_eq!(len.wait(), Ok(2));
    /// ```
    pub fn worker_state<S, E, F>(mut self, make: F) -> Self
    where
        S: 'static,
        E: fmt::Display,
        F: Fn() -> Result<S, E> + Send + Sync + 'static,
    {
        let factory: Factory<S> = Arc::new(move || make().map_err(|e| e.to_string()));
        self.states.insert(std::any::TypeId::of::<S>(), Arc::new(factory));
        self
    }

    /// Bounds the queue of jobs waiting for a thread (at least 1), for backpressure.
    ///
    /// When it is full, [`ThreadPool::submit`] blocks until a worker takes a job,
    /// [`ThreadPool::try_submit`] fails at once with
    /// [`SubmitError::QueueFull`](crate::SubmitError::QueueFull), and
    /// [`ThreadPool::submit_async`] waits without blocking its thread. Without a bound (the default,
    /// like `concurrent.futures` and tokio's blocking pool) the queue grows as needed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().max_workers(1).queue_capacity(1).build().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let running = pool.submit(move || rx.recv().unwrap()).unwrap();
    /// while pool.stats().running == 0 { std::thread::yield_now(); }
    /// let queued = pool.submit(|| 1).unwrap();
    /// assert_eq!(pool.try_submit(|| 2).unwrap_err(), tulip::SubmitError::QueueFull);
    /// tx.send(()).unwrap();
    /// running.wait().unwrap();
    /// assert_eq!(queued.wait(), Ok(1));
    /// ```
    pub fn queue_capacity(mut self, jobs: usize) -> Self {
        self.queue_capacity = Some(jobs);
        self
    }

    /// How long a worker that ran out of jobs busy-waits for the next one before it parks (default
    /// 40 µs; zero disables it; more than 1 ms is cut to 1 ms, and the process-wide
    /// [`set_spin_limit`](crate::set_spin_limit) caps it too).
    ///
    /// At most one worker spins at a time. Spinning makes a job submitted shortly after the previous
    /// one finished start without a wakeup syscall or a context switch (the loop's
    /// one-job-after-another pattern), at the price of up to this much CPU time per idle period. It is
    /// adaptive: while the spinner's recent waits for a job were longer than this (jobs come slowly, or
    /// the machine is too busy for the submitter to follow closely), the worker parks at once, but for
    /// a probe now and then (one idle period in 8, down to one in 256 while probes keep finding long
    /// waits) that spins to find out whether spinning pays again.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = tulip::ThreadPool::builder().idle_spin(Duration::ZERO).build().unwrap();
    /// assert_eq!(pool.submit(|| 3).unwrap().wait(), Ok(3));
    /// ```
    pub fn idle_spin(mut self, spin: Duration) -> Self {
        self.idle_spin = spin.min(crate::spin::MAX_LIMIT);
        self
    }

    /// Checks the settings and makes the pool. No thread starts until the first job.
    ///
    /// Fails with [`BuildError::InvalidConfig`] for `max_workers(0)`, `stack_size(0)`,
    /// `queue_capacity(0)` or a thread name prefix containing a NUL byte.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = tulip::ThreadPool::builder().queue_capacity(0).build().unwrap_err();
    /// assert!(err.to_string().contains("queue_capacity"));
    /// ```
    pub fn build(self) -> Result<ThreadPool, BuildError> {
        let max_workers = self.max_workers.unwrap_or_else(|| (num_cpus::get() + 4).min(32));
        if max_workers == 0 {
            return Err(BuildError::InvalidConfig("max_workers must be at least 1".into()));
        }
        if self.stack_size == Some(0) {
            return Err(BuildError::InvalidConfig("stack_size must not be 0".into()));
        }
        if self.queue_capacity == Some(0) {
            return Err(BuildError::InvalidConfig("queue_capacity must be at least 1".into()));
        }
        if self.thread_name_prefix.contains('\0') {
            return Err(BuildError::InvalidConfig("thread_name_prefix must not contain a NUL byte".into()));
        }
        let config = Config {
            max_workers,
            thread_name_prefix: self.thread_name_prefix,
            stack_size: self.stack_size,
            initializer: self.initializer,
            idle_timeout: (self.idle_timeout != Duration::MAX).then_some(self.idle_timeout),
            queue_capacity: self.queue_capacity,
            idle_spin: self.idle_spin,
            states: self.states,
        };
        Ok(ThreadPool::from_shared(Shared::new(config)))
    }
}

impl fmt::Debug for ThreadPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolBuilder")
            .field("max_workers", &self.max_workers)
            .field("thread_name_prefix", &self.thread_name_prefix)
            .field("stack_size", &self.stack_size)
            .field("initializer", &self.initializer.is_some())
            .field("idle_timeout", &self.idle_timeout)
            .field("queue_capacity", &self.queue_capacity)
            .field("idle_spin", &self.idle_spin)
            .field("worker_states", &self.states.len())
            .finish()
    }
}
