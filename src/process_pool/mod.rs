//! [`ProcessPool`]: the parent's side of process pools: the pool, its builder, statistics and `map`.
//!
//! The user-facing story (the model, what each failure does, `init` and tests, the implementation,
//! the caveats) is in the public [`process`] module. This module owns the pieces:
//!
//! - `mod.rs` (here): the state shared between the pool handle, the futures' cancellers and the
//!   driver, and the jobs they pass around;
//! - `builder.rs`: [`ProcessPoolBuilder`] and the pool's configuration;
//! - `handle.rs`: [`ProcessPool`], the cloneable handle: submitting, statistics, shutdown;
//! - `map.rs`: [`ProcessMap`], the owned, lazy, ordered `map`;
//! - `driver/`: the driver thread (all parent-side I/O, dispatch, timeouts, kills, reaping) and
//!   the process-wide spawner thread, one concern per module (see its docs);
//! - `worker.rs`: what a re-executed program does as a worker;
//! - `process.rs`: the public entry point, `init`;
//! - `wire.rs`: the frames on the pipes and their decoder;
//! - `code.rs`: function references as offsets, and the trampolines that call them;
//! - `state.rs`: per-worker state and the initializer, on the worker's side;
//! - `trace.rs` (feature `tracing`): the submitter's span around the task in the worker, and the
//!   task's log events forwarded to the parent's subscriber;
//! - `spawn.rs`: starting, signalling and reaping worker processes, the status page;
//! - `launcher.rs`: [`Launcher`](process::Launcher): where workers run (here, over ssh, as Slurm
//!   steps, through any command), and starting one through it;
//! - `nanny.rs`: the far end of a remote worker's link, which proves the binary, owns the worker
//!   and kills it when the link ends.
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

mod builder;
// The seams between the pool and the OS: the Unix files beside this one, their Windows twins
// under `windows/` (same items, same names).
#[cfg_attr(windows, path = "windows/channel.rs")]
pub(crate) mod channel;
#[cfg_attr(windows, path = "windows/child.rs")]
pub(crate) mod child;
pub(crate) mod code;
mod driver;
mod handle;
mod launcher;
#[cfg(unix)]
mod link_watch;
mod map;
#[cfg(unix)]
mod nanny;
pub mod process;
#[cfg_attr(windows, path = "windows/spawn.rs")]
pub(crate) mod spawn;
mod state;
#[cfg(feature = "tracing")]
mod trace;
pub(crate) mod wire;
mod worker;

pub use builder::ProcessPoolBuilder;
pub use handle::{ProcessPool, ProcessSubmitFuture};
pub use map::ProcessMap;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::task::Waker;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::error::JobError;
use crate::future::Promise;
use crate::poller::Poller;
use crate::pool::{PoolStats, ShutdownReport};

pub(crate) use builder::{cpus, Config};

/// How long a new worker may take to answer the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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

/// State shared by the pool handle, the futures' cancellers and the driver thread.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) inbox: Mutex<Inbox>,
    /// The driver's poller; `notify()` wakes the driver.
    pub(crate) poller: Poller,
    pub(crate) next_id: AtomicU64,
    /// Gauges published by the driver after each round: `workers`, `idle`, `queued` (the queue's
    /// length then; see [`Inbox::pushed`]) and `running` (tasks sent to a worker, including those
    /// sent ahead that wait inside it behind the one it runs). Lock order: this, then the inbox.
    pub(crate) stats: Mutex<PoolStats>,
    /// Counters, bumped before the future they count is completed, so a caller that saw a result
    /// also sees it counted.
    pub(crate) counters: Counters,
    /// `Some(report)` once the driver has stopped: all workers reaped, every job settled; the
    /// report counts what a shutdown deadline cut short.
    pub(crate) finished: Mutex<Option<ShutdownReport>>,
    pub(crate) finished_cv: Condvar,
    /// Signalled (with the inbox's lock) whenever the queue may have room or the pool closed:
    /// where a blocking `submit` to a bounded queue waits.
    pub(crate) room: Condvar,
}

impl Shared {
    /// Wakes every submitter waiting for queue room (blocking or async); they look again.
    pub(crate) fn wake_submitters(&self) {
        let wakers = std::mem::take(&mut lock(&self.inbox).room_wakers);
        self.room.notify_all();
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// The pool's monotonic counters.
#[derive(Default)]
pub(crate) struct Counters {
    /// Tasks that ended with a value.
    pub(crate) completed: AtomicU64,
    /// Tasks that ended with an error other than a cancel or a shutdown.
    pub(crate) failed: AtomicU64,
    /// Tasks cancelled, dropped, or failed by a shutdown.
    pub(crate) cancelled: AtomicU64,
    pub(crate) worker_deaths: AtomicU64,
    pub(crate) workers_started: AtomicU64,
    pub(crate) queue_wait_ns: AtomicU64,
    pub(crate) queue_wait_max_ns: AtomicU64,
}

/// What the pool's users hand to the driver.
pub(crate) struct Inbox {
    /// Tasks not yet sent to a worker, oldest first (re-queued tasks go back to the front).
    pub(crate) queue: VecDeque<Job>,
    /// Tasks `submit` pushed onto `queue` since the driver last published its gauges (which reset
    /// this under the stats lock): `stats()` counts them on top of the published `queued`, since
    /// the driver's own moves (dispatch, re-queue, cancels) only show at a publish.
    pub(crate) pushed: usize,
    /// Ids of tasks whose futures were cancelled or dropped (see [`JobCtl::cancel`]), to be taken
    /// out of the queue or skipped by their worker.
    pub(crate) cancels: Vec<u64>,
    /// The strongest shutdown requested so far; `Some` also means "closed to new tasks". The pool's
    /// one closed state: the handle, `submit` and the driver all read it here.
    pub(crate) closing: Option<Closing>,
    /// The initializer's error once it failed in a worker: the pool is broken and takes no tasks.
    pub(crate) broken: Option<String>,
    /// Async submitters waiting for room in a bounded queue (see [`Shared::wake_submitters`]).
    pub(crate) room_wakers: Vec<Waker>,
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
    pub(crate) deadline: Option<Instant>,
    pub(crate) kill: bool,
}

impl Closing {
    fn merge(self, other: Closing) -> Closing {
        Closing {
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
pub(crate) const CANCEL_UNWANTED: u8 = 2;

/// Shared between a job and its future's canceller.
pub(crate) struct JobCtl {
    /// The task's id, which the driver finds it by.
    pub(crate) id: u64,
    /// The pool, told when the task is stopped; gone once the pool is.
    pub(crate) pool: Weak<Shared>,
    /// `CANCEL_*`: who asked for the task to stop, if anyone; set once. `USER`: `cancel()` on a
    /// task sent to a worker (killed if it runs). `UNWANTED`: cancelled while queued, or its future
    /// dropped (skipped if it has not started, else left to finish).
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
    pub(crate) fn stop(&self, why: u8) -> bool {
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
    /// The task's own run-time limit (`submit_with_limit`), else the pool's `task_timeout`.
    pub(crate) limit: Option<Duration>,
    /// Where the task's log events go (feature `tracing`); `None` when the submitter had no subscriber.
    #[cfg(feature = "tracing")]
    pub(crate) trace: Option<Box<trace::Origin>>,
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

pub(crate) struct TypedSink<R> {
    pub(crate) promise: Promise<R>,
    /// Set by `resolve`; a sink completed without one reports the promise's drop error.
    pub(crate) outcome: Option<Result<Vec<u8>, JobError>>,
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
            limit: None,
            #[cfg(feature = "tracing")]
            trace: None,
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
