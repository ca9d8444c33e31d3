//! Errors: one typed error per way an operation can fail.
//!
//! Every failure a user can cause ends in one of these types, never in a panic or a hang. There is
//! one type per stage of an operation, and one variant per cause:
//!
//! | type | when | variants |
//! |---|---|---|
//! | [`BuildError`] | building a pool | `InvalidConfig`, `Spawn`, `Handshake` |
//! | [`SubmitError`] | a pool refuses a job at submit (the job never runs) | `ShutDown`, `Broken`, `QueueFull`, `Encode`, `WouldDeadlock`, `NoState` |
//! | [`JobError`] | a job, task or lookup ran (or was queued) and produced no value | `Panicked`, `Cancelled`, `ShutDown`, `LoopClosed`, `WorkerDied`, `TimedOut`, `WouldDeadlock`, `Codec`, `ResultTaken`, `Initializer`, `Spawn` |
//! | [`LoopClosed`] | a call into a loop that has been closed | |
//! | [`RunError`] | a loop could not run | `Closed`, `AlreadyRunning`, `NestedLoop`, `Stopped` |
//! | [`Elapsed`] | a [`timeout`] ran out | |
//! | [`DnsError`] (in [`dns`]) | a name lookup failed | `Resolver`, `InvalidHost`, `InvalidArgument`, `Elapsed`, `Job` |
//!
//! [`JobError`] is the error side of every [`ConcurrentFuture`] and of every [`Task`]. Every type here
//! is `Debug + Clone + PartialEq + Eq + Error + Send + Sync`, so errors can be compared in tests,
//! stored, and handed to several waiters.
//!
//! ```
//! use tulip::{JobError, SubmitError};
//! let e: Box<dyn std::error::Error + Send + Sync> = Box::new(JobError::Cancelled);
//! assert_eq!(e.to_string(), "job was cancelled");
//! assert_eq!(SubmitError::ShutDown.clone(), SubmitError::ShutDown);
//! ```
//!
//! [`ConcurrentFuture`]: crate::ConcurrentFuture
//! [`Task`]: crate::Task
//! [`timeout`]: crate::timeout
//! [`DnsError`]: crate::DnsError
//! [`dns`]: crate::dns

use std::fmt;
use std::time::Duration;

/// Why a job or a task produced no value.
///
/// This is the error side of [`ConcurrentFuture`](crate::ConcurrentFuture) and of
/// [`Task`](crate::Task): whichever pool or loop ran the job, its failure arrives as one of these
/// variants.
///
/// # Examples
///
/// ```
/// use tulip::{JobError, ThreadPool};
///
/// let pool = ThreadPool::builder().max_workers(1).build().unwrap();
/// let fut = pool.submit(|| -> u32 { panic!("boom") }).unwrap();
/// match fut.wait() {
///     Err(JobError::Panicked(msg)) => assert!(msg.contains("boom")),
///     other => panic!("unexpected: {other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobError {
    /// The job or task panicked; the payload's message is kept.
    Panicked(String),
    /// The job was cancelled before it produced a value (by `cancel()`, or a task by closing its
    /// loop).
    Cancelled,
    /// The pool was shut down before the job finished: the job was still queued when
    /// `shutdown_timeout`'s deadline came, or it was running in a process-pool worker that the
    /// shutdown stopped.
    ShutDown,
    /// The loop the job needed was closed before the job finished.
    LoopClosed,
    /// The worker process running the task died; the text says how (exit status or signal).
    WorkerDied(String),
    /// The job ran longer than its run-time limit (`submit_with_limit`, or a process pool's
    /// `task_timeout`), which is kept here. Only running time counts, never time in the queue: a
    /// process-pool worker is killed at the limit; a thread-pool job's cancel token is set and the job's
    /// thread stays busy until the job returns.
    TimedOut(Duration),
    /// Waiting for the job could never end, so it fails at once instead: a blocking wait on the
    /// thread of the loop that must run for the wait to end, or a [`Task`](crate::Task) awaited where
    /// its loop cannot run (under another loop, or another executor on the loop's thread; asyncio
    /// refuses a future attached to a different loop).
    WouldDeadlock,
    /// The arguments or the result could not be encoded or decoded.
    Codec(String),
    /// The result was already taken from this future or task (by `wait_timeout` or an earlier poll).
    ResultTaken,
    /// The job never ran because its worker could not be prepared; the text is the error. Either the
    /// pool's `initializer` failed (the pool is broken: later submits fail with
    /// [`SubmitError::Broken`]), or the `worker_state` factory the job needed failed (only this job
    /// fails; the next one tries again).
    Initializer(String),
    /// No thread could be started to run the job (a pool's, or the DNS lane's), and none was alive to
    /// take it; the text is the operating system's error (a thread limit, or memory for the stack).
    /// For a process pool with remote workers: every host is set aside, so no worker can start; the
    /// text names each host, why, and when it is tried again (the job never ran).
    Spawn(String),
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Panicked(msg) => write!(f, "job panicked: {msg}"),
            JobError::Cancelled => f.write_str("job was cancelled"),
            JobError::ShutDown => f.write_str("the pool was shut down before the job finished"),
            JobError::LoopClosed => f.write_str("the event loop was closed before the job finished"),
            JobError::WorkerDied(how) => write!(f, "worker process died: {how}"),
            JobError::TimedOut(limit) => {
                write!(f, "job ran longer than its limit of {limit:?} (time in the queue not counted)")
            }
            JobError::WouldDeadlock => f.write_str(
                "waiting here would deadlock: the event loop this job needs cannot run on this thread now",
            ),
            JobError::Codec(msg) => write!(f, "encoding or decoding failed: {msg}"),
            JobError::ResultTaken => f.write_str("the result of this future was already taken"),
            JobError::Initializer(msg) => {
                write!(f, "the pool's initializer failed, so the job never ran: {msg}")
            }
            JobError::Spawn(msg) => write!(f, "no thread could be started to run the job: {msg}"),
        }
    }
}

impl std::error::Error for JobError {}

/// A call into an event loop that has been closed.
///
/// # Examples
///
/// ```
/// let lp = tulip::EventLoop::new().unwrap();
/// let handle = lp.handle();
/// lp.close().unwrap();
/// assert_eq!(handle.call_soon_threadsafe(|| ()), Err(tulip::LoopClosed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopClosed;

impl fmt::Display for LoopClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event loop is closed")
    }
}

impl std::error::Error for LoopClosed {}

impl From<LoopClosed> for JobError {
    fn from(_: LoopClosed) -> Self {
        JobError::LoopClosed
    }
}

/// Why an event loop could not run.
///
/// # Examples
///
/// ```
/// let lp = tulip::EventLoop::new().unwrap();
/// lp.close().unwrap();
/// assert_eq!(lp.run_until_complete(async { 1 }), Err(tulip::RunError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunError {
    /// The loop is closed.
    Closed,
    /// This loop is already running.
    AlreadyRunning,
    /// Another loop is running on this thread; loops do not nest.
    NestedLoop,
    /// `stop()` was called before the future given to `run_until_complete` completed.
    Stopped,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunError::Closed => "the event loop is closed",
            RunError::AlreadyRunning => "the event loop is already running",
            RunError::NestedLoop => "cannot run an event loop while another loop is running on this thread",
            RunError::Stopped => "the event loop stopped before the future completed",
        })
    }
}

impl std::error::Error for RunError {}

/// A [`timeout`](crate::timeout) ran out before its future finished.
///
/// The deadline covers the whole wait: for a pool job, the time it spent in the queue counts too, which
/// the message says. A limit on a job's running time alone is `submit_with_limit`, which fails with
/// [`JobError::TimedOut`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// tulip::run(async {
///     let r = tulip::timeout(Duration::from_millis(1), tulip::sleep(Duration::from_secs(60))).await;
///     assert_eq!(r, Err(tulip::Elapsed));
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline elapsed (the whole wait counts: a pool job's time in its queue too)")
    }
}

impl std::error::Error for Elapsed {}

/// Turns a panic payload into the message it carries.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// A pool could not be built.
///
/// # Examples
///
/// ```
/// use tulip::BuildError;
///
/// let err = BuildError::InvalidConfig("max_workers must be at least 1".into());
/// assert_eq!(err.to_string(), "invalid pool configuration: max_workers must be at least 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// A builder setting is out of range; the text says which.
    InvalidConfig(String),
    /// Starting a worker (thread or process) failed; the text is the operating system's error.
    Spawn(String),
    /// A worker process failed the handshake (wrong binary, wrong token, or `process::init` missing).
    Handshake(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::InvalidConfig(msg) => write!(f, "invalid pool configuration: {msg}"),
            BuildError::Spawn(msg) => write!(f, "could not start a worker: {msg}"),
            BuildError::Handshake(msg) => write!(f, "worker handshake failed: {msg}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// A pool refused a job at submit time; the job was not queued and will never run.
///
/// # Examples
///
/// ```
/// use tulip::SubmitError;
///
/// assert_eq!(SubmitError::QueueFull.to_string(), "the pool's queue is full");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitError {
    /// The pool was shut down; it takes no new jobs.
    ShutDown,
    /// The pool's initializer failed, so the pool takes no jobs; the text is the initializer's error.
    Broken(String),
    /// The pool's bounded queue is full (from `try_submit`).
    QueueFull,
    /// The job cannot be sent to a worker process: its arguments cannot be encoded, or its function
    /// is not part of the program's own code; the text says which.
    Encode(String),
    /// Waiting for queue room here could never end (the caller is the thread that must run for room
    /// to appear), so the submit fails at once.
    WouldDeadlock,
    /// `submit_with_state` asked for a per-worker state type the pool has no `worker_state` for; the
    /// text is the type's name.
    NoState(&'static str),
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::ShutDown => f.write_str("the pool is shut down"),
            SubmitError::Broken(msg) => write!(f, "the pool is broken: its initializer failed: {msg}"),
            SubmitError::QueueFull => f.write_str("the pool's queue is full"),
            SubmitError::Encode(msg) => write!(f, "the job cannot be sent to a worker: {msg}"),
            SubmitError::WouldDeadlock => f.write_str(
                "waiting for queue room on this thread would never end (it must run for room to appear)",
            ),
            SubmitError::NoState(ty) => write!(f, "the pool has no worker_state of type {ty}"),
        }
    }
}

impl std::error::Error for SubmitError {}

impl SubmitError {
    /// The same cause as a job's outcome, for the conveniences that report a refusal in the job's
    /// future (`map`, `run_in_executor`, `to_thread`, DNS lookups). `QueueFull` and `NoState` have
    /// no twin (those conveniences never `try_submit` nor ask for state), so they keep their text.
    pub(crate) fn into_job_error(self) -> JobError {
        match self {
            SubmitError::ShutDown => JobError::ShutDown,
            SubmitError::Broken(msg) => JobError::Initializer(msg),
            SubmitError::Encode(msg) => JobError::Codec(msg),
            SubmitError::WouldDeadlock => JobError::WouldDeadlock,
            other @ (SubmitError::QueueFull | SubmitError::NoState(_)) => JobError::Spawn(other.to_string()),
        }
    }
}
