//! What both pools share: their statistics and the report of a timed shutdown.
//!
//! [`ThreadPool`](crate::ThreadPool) and [`ProcessPool`](crate::ProcessPool) speak one dialect: the
//! same submit methods, builder words, accessors and drop rule. The types here are the parts of that
//! dialect that are data, so one definition serves both.

use std::time::Duration;

/// A snapshot of a pool's counters, with one meaning on both pools.
///
/// Every job that has ended is counted once, in exactly one of `completed`, `failed` and
/// `cancelled`. Gauges (`workers`, `idle`, `queued`, `running`) are read at one moment and may be
/// stale by the time they are looked at.
///
/// A snapshot never counts a job twice: `queued + running + completed + failed + cancelled` is at
/// most the number of jobs submitted. On a [`ProcessPool`](crate::ProcessPool) it is also at least
/// the number of submits that returned before `stats()` was called (each job is in exactly one
/// place); on a [`ThreadPool`](crate::ThreadPool) a job a thread is just taking from the queue, or
/// just finishing, can be missing from one snapshot (its counters stay off the jobs' path).
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// The most workers (threads or processes) the pool runs at once.
    pub max_workers: usize,
    /// Workers alive now, busy or idle.
    pub workers: usize,
    /// Workers alive now without a job.
    pub idle: usize,
    /// Jobs waiting for a worker. A job cancelled in the queue leaves it for `cancelled`: on a
    /// process pool at the driver's next round, on a thread pool once a thread reaches it (it is
    /// then skipped, never run).
    pub queued: usize,
    /// Jobs running now (on a thread pool, including abandoned ones that still hold a thread).
    pub running: usize,
    /// Jobs that ended with a value.
    pub completed: u64,
    /// Jobs that ran and ended with an error other than a cancel or a shutdown: a panic, a codec
    /// error, a dead worker, a run-time limit, a failed initializer.
    pub failed: u64,
    /// Jobs cancelled, dropped or failed by a shutdown, whether queued or running.
    pub cancelled: u64,
    /// Total time jobs waited between `submit` and the start of their run.
    pub queue_wait_total: Duration,
    /// The longest time one job waited between `submit` and the start of its run.
    pub queue_wait_max: Duration,
    /// Worker processes that died without being asked to (always 0 on a thread pool).
    pub worker_deaths: u64,
    /// Workers started since the pool was built (threads or processes, replacements included).
    pub workers_started: u64,
    /// Remote hosts set aside because workers could not be started there (always 0 on a thread
    /// pool and a local process pool); see [`Launcher`](crate::process::Launcher).
    pub hosts_set_aside: usize,
}

/// What a timed shutdown left behind
/// ([`ThreadPool::shutdown_timeout`](crate::ThreadPool::shutdown_timeout),
/// [`ProcessPool::shutdown_timeout`](crate::ProcessPool::shutdown_timeout)).
///
/// # Examples
///
/// ```
/// let report = tulip::ShutdownReport::default();
/// assert!(report.is_complete());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Jobs still queued at the deadline; their futures failed with
    /// [`JobError::ShutDown`](crate::JobError::ShutDown).
    pub cancelled: usize,
    /// Jobs still running at the deadline: left running on a thread pool (a thread cannot be
    /// killed), killed with their worker on a process pool.
    pub still_running: usize,
}

impl ShutdownReport {
    /// True when every job ended before the deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulip::ShutdownReport::default().is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.cancelled == 0 && self.still_running == 0
    }
}
