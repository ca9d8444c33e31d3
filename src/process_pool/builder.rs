//! [`ProcessPoolBuilder`]: the pool's settings, their checks, and `build`.

use std::any::TypeId;
use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::launcher::{Launcher, Target};
use super::{code, driver, process, spawn, wire, Counters, Inbox, ProcessPool, Shared};
use crate::error::BuildError;
use crate::poller::Poller;
use crate::pool::PoolStats;

/// Smallest accepted `max_frame_size`: room for the handshake frames and any error message.
const MIN_FRAME_SIZE: usize = wire::HANDSHAKE_MAX;

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
///         .queue_capacity(1000)
///         .build()
///         .unwrap();
///     assert_eq!(pool.submit(cube, -3).unwrap().wait(), Ok(-27));
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
    /// `None`: unbounded.
    pub(crate) queue_capacity: Option<usize>,
    pub(crate) initializer: Option<fn() -> Result<(), String>>,
    /// The initializer's offset (see `code.rs`), set by `build`; 0: none.
    pub(crate) init_off: i64,
    /// The `worker_state` factories, at most one per state type.
    pub(crate) states: Vec<StateFactory>,
    /// Where workers run.
    pub(crate) launcher: Launcher,
    /// Where new workers start: each goes to the one with the fewest (from `launcher`, set by `build`).
    pub(crate) targets: Vec<Target>,
}

/// A `worker_state` factory: the type of the state it makes, and its address.
#[derive(Debug, Clone)]
pub(crate) struct StateFactory {
    pub(crate) ty: TypeId,
    /// A `fn() -> Result<S, String>` for the `S` of `ty`.
    pub(crate) make: usize,
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
                queue_capacity: None,
                initializer: None,
                init_off: 0,
                states: Vec::new(),
                launcher: Launcher::local(),
                targets: Vec::new(),
            },
        }
    }
}

/// The number of CPUs, read once (it means reading cgroup files on Linux).
pub(crate) fn cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| num_cpus::get().max(1))
}

impl ProcessPoolBuilder {
    /// Where the workers run (default: [`Launcher::local`], this machine). With a remote launcher,
    /// `build` first puts this program on each host (or checks the shared path), and each worker
    /// proves in its handshake that it runs the same binary; each new worker goes to the host with
    /// the fewest (so a host that lost one gets its replacement). Everything else (submit, map, stats, timeouts, errors) is the same.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::process::Launcher;
    ///
    /// let b = tulip::ProcessPool::builder().launcher(Launcher::ssh("node1").host("node2"));
    /// # let _ = b;
    /// ```
    pub fn launcher(mut self, launcher: Launcher) -> Self {
        self.config.launcher = launcher;
        self
    }

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
    /// [`JobError::TimedOut`](crate::JobError::TimedOut) (default: no limit; [`ProcessPool::submit_with_limit`]
    /// sets a limit per task).
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
    /// Larger arguments fail at `submit` with [`SubmitError::Encode`](crate::SubmitError::Encode); a larger result fails its task
    /// with [`JobError::Codec`](crate::JobError::Codec); a worker announcing a larger frame is killed.
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

    /// Bounds the queue of tasks waiting for a worker to `n` (default: unbounded).
    ///
    /// When it is full, [`submit`](ProcessPool::submit) waits for room (blocking the caller),
    /// [`try_submit`](ProcessPool::try_submit) fails with
    /// [`SubmitError::QueueFull`](crate::SubmitError::QueueFull), and
    /// [`submit_async`](ProcessPool::submit_async) waits without blocking. Tasks sent to a worker
    /// ahead of time (pipelining) are not in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = tulip::ProcessPool::builder().queue_capacity(100);
    /// # let _ = b;
    /// ```
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.config.queue_capacity = Some(n);
        self
    }

    /// Runs `init` in each worker process before its first task (as `concurrent.futures`'
    /// `initializer`).
    ///
    /// If it fails (returns `Err` or panics) the pool is broken: the task that met it, and every
    /// task queued, fails with [`JobError::Initializer`](crate::JobError::Initializer), and later
    /// submits fail with [`SubmitError::Broken`](crate::SubmitError::Broken). Like a task's
    /// function, `init` is a plain `fn` or a closure that captures nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// fn check_env() -> Result<(), String> {
    ///     std::env::var("PATH").map(drop).map_err(|e| e.to_string())
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().initializer(check_env).build().unwrap();
    ///     assert_eq!(pool.submit(|x: u8| x + 1, 1).unwrap().wait(), Ok(2));
    /// }
    /// ```
    pub fn initializer(mut self, init: fn() -> Result<(), String>) -> Self {
        self.config.initializer = Some(init);
        self
    }

    /// Registers a per-worker state of type `S`, made by `make` in each worker process the first
    /// time a task of [`submit_with_state`](ProcessPool::submit_with_state) needs it, and kept
    /// there for the life of that process (a database connection, a loaded model). Several types
    /// may be registered; registering a type again replaces its factory.
    ///
    /// If `make` fails (returns `Err` or panics), the task that needed the state fails with
    /// [`JobError::Initializer`](crate::JobError::Initializer); the pool is not broken, and the
    /// next task that needs it tries again.
    ///
    /// # Examples
    ///
    /// ```
    /// fn open_counter() -> Result<u64, String> {
    ///     Ok(0)
    /// }
    ///
    /// fn bump(count: &mut u64, by: u64) -> u64 {
    ///     *count += by;
    ///     *count
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().max_workers(1).worker_state(open_counter).build().unwrap();
    ///     assert_eq!(pool.submit_with_state(bump, 2).unwrap().wait(), Ok(2));
    ///     assert_eq!(pool.submit_with_state(bump, 3).unwrap().wait(), Ok(5));
    /// }
    /// ```
    pub fn worker_state<S: 'static>(mut self, make: fn() -> Result<S, String>) -> Self {
        let factory = StateFactory { ty: TypeId::of::<S>(), make: make as usize };
        self.config.states.retain(|f| f.ty != factory.ty);
        self.config.states.push(factory);
        self
    }

    fn validate(&self) -> Result<(), BuildError> {
        let c = &self.config;
        let bad = |m: String| Err(BuildError::InvalidConfig(m));
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
        if c.queue_capacity == Some(0) {
            return bad("queue_capacity must be at least 1".into());
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
    /// - [`BuildError::InvalidConfig`] for a setting out of range;
    /// - [`BuildError::Handshake`] when [`process::init`] was not called in this
    ///   program, or the first worker failed the handshake (the message says why);
    /// - [`BuildError::Spawn`] when no worker process could be started.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::process::init();
    /// let err = tulip::ProcessPool::builder().max_workers(0).build().unwrap_err();
    /// assert!(matches!(err, tulip::BuildError::InvalidConfig(_)));
    /// ```
    pub fn build(mut self) -> Result<ProcessPool, BuildError> {
        self.validate()?;
        if let Some(init) = self.config.initializer {
            self.config.init_off = code::offset_of(init as usize).map_err(|e| {
                BuildError::InvalidConfig(format!("the initializer cannot be sent to a worker: {e}"))
            })?;
        }
        if std::env::var_os(spawn::ENV).is_some() {
            return Err(BuildError::Handshake(
                "this process was started as a tulip process-pool worker, but it is building a pool \
                 instead of calling tulip::process::init() first; make `tulip::process::init();` the \
                 first statement of main"
                    .into(),
            ));
        }
        if !process::init_called() {
            return Err(BuildError::Handshake(
                "tulip::process::init() was not called in this program. Workers are this program \
                 started again, and init() is what turns them into workers instead of running main a \
                 second time: make `tulip::process::init();` the first statement of main (for tests, \
                 use a `harness = false` test target whose main calls it first)"
                    .into(),
            ));
        }
        self.config.targets = self.config.launcher.prepare()?;
        let spawn_err = |e: std::io::Error| BuildError::Spawn(e.to_string());
        let token = spawn::new_token().map_err(spawn_err)?;
        let shared = Arc::new(Shared {
            config: self.config,
            inbox: Mutex::new(Inbox {
                queue: VecDeque::new(),
                pushed: 0,
                cancels: Vec::new(),
                closing: None,
                broken: None,
                room_wakers: Vec::new(),
            }),
            poller: Poller::new().map_err(spawn_err)?,
            next_id: AtomicU64::new(1),
            stats: Mutex::new(PoolStats::default()),
            counters: Counters::default(),
            finished: Mutex::new(None),
            finished_cv: Condvar::new(),
            room: Condvar::new(),
        });
        let (tx, rx) = crossbeam_channel::bounded(1);
        let mut driver = driver::Driver::new(shared.clone(), token, tx).map_err(spawn_err)?;
        // The first rounds run here: the worker's handshake reply wakes this thread directly.
        driver.start_up();
        match rx.try_recv() {
            Ok(Ok(())) => {}
            // Dropping the driver kills and reaps whatever was started.
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(BuildError::Spawn("the process pool did not start".into())),
        }
        let core = Arc::new(Mutex::new(driver));
        let handle = {
            let core = core.clone();
            std::thread::Builder::new()
                .name("tulip-process-pool".into())
                .spawn(move || driver::run(core))
                .map_err(spawn_err)?
        };
        Ok(ProcessPool::new(shared, core, handle))
    }
}
