//! Errors: one typed error per way an operation can fail.
//!
//! Every failure a user can cause ends in one of these types, never in a panic or a hang:
//!
//! - [`JobError`]: why a job (a thread-pool job, a process-pool task, a task spawned from another
//!   thread) produced no value. It is the error side of every [`ConcurrentFuture`].
//! - [`LoopClosed`]: a call into a loop that has been closed.
//! - [`RunError`]: why a loop could not run (it is closed, or a loop already runs on this thread).
//! - [`TaskError`]: why a [`Task`] produced no value.
//! - [`Elapsed`]: a [`timeout`] ran out.
//! - [`PoolError`]: a pool could not be built or refused a job.
//!
//! [`ConcurrentFuture`]: crate::ConcurrentFuture
//! [`Task`]: crate::Task
//! [`timeout`]: crate::timeout

use std::fmt;

/// Why a job produced no value.
///
/// This is the error side of [`ConcurrentFuture`](crate::ConcurrentFuture): whichever pool or loop ran
/// the job, its failure arrives as one of these variants, with the job it belongs to.
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
    /// The job panicked; the payload's message is kept.
    Panicked(String),
    /// The job was cancelled before it produced a value.
    Cancelled,
    /// The pool was shut down before the job could run.
    ShutDown,
    /// The loop the job needed was closed before the job finished.
    LoopClosed,
    /// The worker process running the task died; the text says how (exit status or signal).
    WorkerDied(String),
    /// The task ran past its time limit and its worker was killed.
    TimedOut,
    /// A blocking wait was called on the thread of the loop that must run for the wait to end.
    ///
    /// Waiting there could never finish, so it fails at once instead.
    WouldDeadlock,
    /// The arguments or the result could not be encoded or decoded.
    Codec(String),
    /// The result was already taken from this future (by `wait_timeout` or an earlier poll).
    ResultTaken,
    /// The pool's initializer failed on a worker thread, so the pool is broken and the job never ran;
    /// the text is the initializer's error.
    Initializer(String),
    /// No thread could be started to run the job, and none was alive to take it; the text is the
    /// operating system's error (a thread limit, or memory for the stack).
    Spawn(String),
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Panicked(msg) => write!(f, "job panicked: {msg}"),
            JobError::Cancelled => f.write_str("job was cancelled"),
            JobError::ShutDown => f.write_str("pool was shut down before the job ran"),
            JobError::LoopClosed => f.write_str("the event loop was closed before the job finished"),
            JobError::WorkerDied(how) => write!(f, "worker process died: {how}"),
            JobError::TimedOut => f.write_str("task exceeded its time limit and its worker was killed"),
            JobError::WouldDeadlock => f.write_str(
                "blocking wait on the event loop's own thread for work that needs that loop would deadlock",
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

/// Why a [`Task`](crate::Task) produced no value.
///
/// # Examples
///
/// ```
/// tulip::run(async {
///     let lp = tulip::get_running_loop();
///     let task = lp.spawn(async { tulip::sleep(std::time::Duration::from_secs(60)).await });
///     task.cancel();
///     assert_eq!(task.await, Err(tulip::TaskError::Cancelled));
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// The task was cancelled (by [`Task::cancel`](crate::Task::cancel) or by closing its loop).
    Cancelled,
    /// The task panicked; the payload's message is kept.
    Panicked(String),
    /// The task was awaited where its loop cannot run: under another loop, or under another
    /// executor on the loop's thread. Waiting there could never end, so it fails at once (asyncio
    /// refuses a future attached to a different loop).
    WouldDeadlock,
    /// The task's output was already taken (by an earlier poll that returned it).
    ResultTaken,
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("task was cancelled"),
            TaskError::Panicked(msg) => write!(f, "task panicked: {msg}"),
            TaskError::WouldDeadlock => f.write_str(
                "task awaited where its event loop cannot run (another loop or executor holds its thread): \
                 it would never finish",
            ),
            TaskError::ResultTaken => f.write_str("the output of this task was already taken"),
        }
    }
}

impl std::error::Error for TaskError {}

impl From<TaskError> for JobError {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::Cancelled => JobError::Cancelled,
            TaskError::Panicked(msg) => JobError::Panicked(msg),
            TaskError::WouldDeadlock => JobError::WouldDeadlock,
            TaskError::ResultTaken => JobError::ResultTaken,
        }
    }
}

/// A [`timeout`](crate::timeout) ran out before its future finished.
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
        f.write_str("deadline elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// A pool could not be built, or refused a job.
///
/// # Examples
///
/// ```
/// use tulip::PoolError;
///
/// assert_eq!(PoolError::ShutDown.to_string(), "the pool is shut down");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError {
    /// The pool was shut down; it takes no new jobs.
    ShutDown,
    /// A builder setting is out of range; the text says which.
    InvalidConfig(String),
    /// The pool's initializer failed on a worker thread, so the pool is broken and takes no jobs; the
    /// text is the initializer's error.
    Initializer(String),
    /// The pool's bounded queue is full (from `try_submit`).
    QueueFull,
    /// Starting a worker (thread or process) failed.
    Spawn(std::io::Error),
    /// The arguments of a process-pool task could not be encoded.
    Encode(String),
    /// A worker process failed the handshake (wrong binary, wrong token, or `process::init` missing).
    Handshake(String),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::ShutDown => f.write_str("the pool is shut down"),
            PoolError::InvalidConfig(msg) => write!(f, "invalid pool configuration: {msg}"),
            PoolError::Initializer(msg) => write!(f, "pool initializer failed: {msg}"),
            PoolError::QueueFull => f.write_str("the pool's queue is full"),
            PoolError::Spawn(e) => write!(f, "could not start a worker: {e}"),
            PoolError::Encode(msg) => write!(f, "could not encode the task's arguments: {msg}"),
            PoolError::Handshake(msg) => write!(f, "worker handshake failed: {msg}"),
        }
    }
}

impl std::error::Error for PoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

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
