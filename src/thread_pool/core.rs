//! The pool's machinery: the shared state, the worker loop, parking and waking, the job type.
//!
//! Nothing here is public; `mod.rs` wraps it in the [`ThreadPool`](super::ThreadPool) API.

use std::cell::Cell;
use std::io;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Condvar, Mutex};
use std::task::Waker;
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::error::{panic_message, JobError, SubmitError};
use crate::future::Promise;
use crate::spin::AdaptiveSpin;

/// Locks `m`, ignoring poisoning (no user code runs under these locks). The pool uses `std`'s
/// primitives even under `cfg(loom)`: only the future's state machine is modelled.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `d` in ns, saturating.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A fallible per-thread initializer, with its error already turned into text.
pub(super) type Initializer = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The settings a pool was built with; fixed for its lifetime.
pub(super) struct Config {
    pub(super) max_workers: usize,
    pub(super) thread_name_prefix: String,
    pub(super) stack_size: Option<usize>,
    pub(super) initializer: Option<Initializer>,
    /// `None`: idle threads never retire.
    pub(super) idle_timeout: Option<Duration>,
    pub(super) queue_capacity: Option<usize>,
    pub(super) idle_spin: Duration,
    /// The per-worker state factories, by the type they make (see `super::state`).
    pub(super) states: super::state::Factories,
}

thread_local! {
    /// The address of the pool whose worker this thread is (0 elsewhere): lets `shutdown_timeout`
    /// called from one of the pool's own jobs wait for the others instead of for itself.
    static CURRENT_POOL: Cell<usize> = const { Cell::new(0) };
}

/// A job in the queue: the user's closure with the promise it completes.
pub(super) type Job = Box<dyn Runnable>;

/// What a worker can do with a queued job.
pub(super) trait Runnable: Send {
    /// Runs the job (or skips it if its future was cancelled meanwhile), counting it in the worker's
    /// counters, then completes its future, calling `publishing` after the done-callbacks and just
    /// before the outcome becomes visible (see `Promise::complete_then`).
    fn run(self: Box<Self>, counters: &WorkerCounters, publishing: &mut dyn FnMut());
    /// Completes the job's future with `err` without running it; `true` if it was still wanted.
    fn reject(self: Box<Self>, err: JobError) -> bool;
}

/// A closure and the promise of its result.
pub(super) struct Task<T, F> {
    pub(super) promise: Promise<T>,
    /// The job; an `Err` it returns (a per-worker state it could not get) is its outcome.
    pub(super) f: F,
    pub(super) enqueued: Instant,
    /// The run-time limit, counted from the job's start (`submit_with_limit`).
    pub(super) limit: Option<Duration>,
    /// The span current at submit time, entered around the job (`asyncio.to_thread` carries
    /// context the same way).
    #[cfg(feature = "tracing")]
    pub(super) span: tracing::Span,
}

impl<T, F> Runnable for Task<T, F>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, JobError> + Send + 'static,
{
    fn run(self: Box<Self>, counters: &WorkerCounters, publishing: &mut dyn FnMut()) {
        let task = *self;
        if !task.promise.start() {
            // Cancelled or dropped while queued: it never runs.
            WorkerCounters::bump(&counters.cancelled);
            return;
        }
        counters.record_wait(task.enqueued.elapsed());
        counters.running.store(1, Relaxed);
        let watch = task.limit.and_then(|limit| super::limit::arm(limit, &task.promise));
        let outcome = {
            #[cfg(feature = "tracing")]
            let _entered = task.span.enter();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(task.f))
        };
        let mut result = match outcome {
            Ok(result) => result,
            Err(payload) => {
                let message = panic_message(&*payload);
                // The payload may itself panic when dropped; that must not take the worker down.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)));
                Err(JobError::Panicked(message))
            }
        };
        if let Some(expired) = watch.and_then(super::limit::Watch::disarm) {
            // The limit fired (or is firing): the outcome is the time-out, whatever the job returned.
            result = Err(expired);
        }
        // Counters first: whoever sees the outcome (through the future's lock) also sees it counted.
        let counter = match &result {
            Err(_) => &counters.failed,
            Ok(_) if task.promise.is_cancelled() => &counters.cancelled,
            Ok(_) => &counters.completed,
        };
        // Not running before counted: a snapshot that sees the count then sees this (see `add_to`).
        counters.running.store(0, Release);
        WorkerCounters::bump(counter);
        task.promise.complete_then(result, publishing);
    }

    fn reject(self: Box<Self>, err: JobError) -> bool {
        self.promise.complete(Err(err))
    }
}

/// One worker's counters behind [`PoolStats`](super::PoolStats).
///
/// Only its worker writes them, with a plain load and store (no read-modify-write on a cache line the
/// other workers also write); `stats()` sums them. Aligned to its own cache lines for the same reason.
#[derive(Default)]
#[repr(align(128))]
pub(super) struct WorkerCounters {
    /// 1 while the worker runs a job.
    running: AtomicU64,
    /// Jobs that ended with a value.
    completed: AtomicU64,
    /// Jobs that ran and ended with an error (a panic, a time-out, a state that could not be made).
    failed: AtomicU64,
    /// Jobs cancelled or dropped, while queued or while running.
    cancelled: AtomicU64,
    wait_total_ns: AtomicU64,
    wait_max_ns: AtomicU64,
}

impl WorkerCounters {
    /// Adds one; only the owning worker calls this.
    fn bump(counter: &AtomicU64) {
        counter.store(counter.load(Relaxed).wrapping_add(1), Release);
    }

    fn record_wait(&self, waited: Duration) {
        let ns = nanos(waited);
        self.wait_total_ns.store(self.wait_total_ns.load(Relaxed).saturating_add(ns), Relaxed);
        if ns > self.wait_max_ns.load(Relaxed) {
            self.wait_max_ns.store(ns, Relaxed);
        }
    }

    /// Adds these counters to `t`. The ended counts are read before `running`, and a worker clears
    /// `running` before it counts the job: a job seen counted is then not seen running as well.
    fn add_to(&self, t: &mut Totals) {
        t.completed += self.completed.load(Acquire);
        t.failed += self.failed.load(Acquire);
        t.cancelled += self.cancelled.load(Acquire);
        t.running += self.running.load(Acquire) as usize;
        t.wait_total_ns = t.wait_total_ns.saturating_add(self.wait_total_ns.load(Relaxed));
        t.wait_max_ns = t.wait_max_ns.max(self.wait_max_ns.load(Relaxed));
    }
}

/// Counter sums: of the workers that have exited (kept in `State`), or of the whole pool (`stats()`).
#[derive(Default, Clone, Copy)]
pub(super) struct Totals {
    pub(super) running: usize,
    pub(super) completed: u64,
    pub(super) failed: u64,
    pub(super) cancelled: u64,
    pub(super) wait_total_ns: u64,
    pub(super) wait_max_ns: u64,
}

/// How a parked worker is woken: a flag plus the thread to unpark.
pub(super) struct Parker {
    thread: Thread,
    /// Set by whoever popped this parker from the idle stack; read by the parked worker.
    notified: AtomicBool,
    /// When a submitter woke it for a job, in ns since the pool's `epoch` (0: not for a job). The
    /// worker's wait for that job ended there, not when the kernel got round to running it: the
    /// wakeup latency is what a spin would save, so it must not count against spinning.
    notified_ns: AtomicU64,
}

impl Parker {
    fn notify(&self, at_ns: u64) {
        self.notified_ns.store(at_ns, Relaxed);
        self.notified.store(true, Release);
        // Costs a syscall only if the thread really sleeps in `park`.
        self.thread.unpark();
    }
}

/// The part of the state that needs the lock (all of it off the per-job path).
pub(super) struct State {
    /// Parked workers, most recently parked last: waking pops from the end, so hot threads stay hot
    /// and the ones at the bottom run into their idle timeout and retire.
    idle: Vec<Arc<Parker>>,
    /// Handles of live workers and of those that left because the pool closed (joined by
    /// `shutdown_timeout`); a worker that retires on its idle timeout removes (detaches) its own.
    handles: Vec<JoinHandle<()>>,
    /// Numbers worker threads for their names.
    next_id: u64,
    /// Set when a worker's initializer failed: the pool is broken, with this message.
    broken: Option<String>,
    /// Tasks waiting for room in a bounded queue (`submit_async`).
    space_wakers: Vec<Waker>,
    /// The counters of the live workers.
    counters: Vec<Arc<WorkerCounters>>,
    /// The sums of the counters of the workers that have exited.
    retired: Totals,
}

/// Everything the workers and the pool handles share.
pub(super) struct Shared {
    pub(super) config: Config,
    tx: Sender<Job>,
    rx: Receiver<Job>,
    /// Set (`SeqCst`) by shutdown or a failed initializer. A submitter checks it again after pushing, so
    /// a job either is refused or reaches a worker; never both, never neither.
    closed: AtomicBool,
    /// Workers holding the spinning role (0 or 1); a submitter that sees one wakes nobody.
    ///
    /// Invariant: the holder looks at the queue soon, with no user code left to run before it does.
    /// A worker takes the role after its job *and the job's done-callbacks* have returned, just
    /// before the outcome is published (so the submitter that this outcome wakes already sees the
    /// role held), then spins on the queue; it gives the role up when it takes a job (waking another
    /// worker if more are queued) or once it is registered as parked (then it looks once more).
    /// Only `Worker` (the worker loop) takes or gives up the role.
    spinning: AtomicUsize,
    /// The spinning worker's waits for its next job, and whether spinning pays.
    spin: AdaptiveSpin,
    /// The origin of `Parker::notified_ns`.
    epoch: Instant,
    /// Length of `State::idle`, readable without the lock.
    sleeping: AtomicUsize,
    /// Live worker threads, including those reserved but not yet started; never above `max_workers`.
    workers: AtomicUsize,
    /// Worker threads started since the pool was built.
    started: AtomicU64,
    /// Submitters blocked or suspended on a full bounded queue.
    space_waiters: AtomicUsize,
    /// Queued jobs failed by a shutdown (counted where no worker is involved).
    rejected: AtomicU64,
    /// Queued jobs failed because the pool broke, or because no thread could start for them.
    refused: AtomicU64,
    state: Mutex<State>,
    /// Signalled when a worker exits (for `shutdown_timeout`).
    exited: Condvar,
    /// Signalled when room appears in a bounded queue, or on close (for blocked submitters).
    space: Condvar,
}

/// The outcome of parking.
enum Parked {
    /// Notified, or found work while getting ready to sleep.
    Woken,
    /// Idle for `idle_timeout`: the thread leaves.
    Retire,
}

impl Shared {
    pub(super) fn new(config: Config) -> Shared {
        // Works the process-wide spin policy out now (environment, cgroup files), not on a worker
        // that takes the spinning role under a job's lock.
        crate::spin::spin_limit();
        let (tx, rx) = match config.queue_capacity {
            Some(cap) => crossbeam_channel::bounded(cap),
            None => crossbeam_channel::unbounded(),
        };
        Shared {
            spin: AdaptiveSpin::new(config.idle_spin),
            epoch: Instant::now(),
            config,
            tx,
            rx,
            closed: AtomicBool::new(false),
            spinning: AtomicUsize::new(0),
            sleeping: AtomicUsize::new(0),
            workers: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            space_waiters: AtomicUsize::new(0),
            rejected: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            state: Mutex::new(State {
                idle: Vec::new(),
                handles: Vec::new(),
                next_id: 0,
                broken: None,
                space_wakers: Vec::new(),
                counters: Vec::new(),
                retired: Totals::default(),
            }),
            exited: Condvar::new(),
            space: Condvar::new(),
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Acquire)
    }

    /// The error a closed pool gives a submitter.
    pub(super) fn closed_error(&self) -> SubmitError {
        match &lock(&self.state).broken {
            Some(msg) => SubmitError::Broken(msg.clone()),
            None => SubmitError::ShutDown,
        }
    }

    pub(super) fn workers(&self) -> usize {
        self.workers.load(Relaxed)
    }

    pub(super) fn workers_started(&self) -> u64 {
        self.started.load(Relaxed)
    }

    pub(super) fn idle(&self) -> usize {
        self.sleeping.load(Relaxed) + self.spinning.load(Relaxed)
    }

    /// The pool's counters: the exited workers' sums plus each live worker's.
    pub(super) fn totals(&self) -> Totals {
        let st = lock(&self.state);
        let mut t = st.retired;
        t.running = 0;
        for c in &st.counters {
            c.add_to(&mut t);
        }
        drop(st);
        t.cancelled += self.rejected.load(Relaxed);
        t.failed += self.refused.load(Relaxed);
        t
    }

    pub(super) fn queued(&self) -> usize {
        self.rx.len()
    }

    /// Puts `job` in the queue. A full bounded queue gives the job back.
    pub(super) fn try_push(&self, job: Job) -> Result<(), Job> {
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => Err(job),
        }
    }

    /// Puts `job` in the queue, blocking while a bounded queue is full. Gives the job back if the pool
    /// closes meanwhile.
    pub(super) fn push_blocking(&self, job: Job) -> Result<(), Job> {
        let job = match self.try_push(job) {
            Ok(()) => return Ok(()),
            Err(job) => job,
        };
        let mut job = Some(job);
        let mut st = lock(&self.state);
        self.space_waiters.fetch_add(1, SeqCst);
        let result = loop {
            // Registered first, then retried: a worker that pops after our failed attempt sees the
            // registration and signals `space` (under the lock we hold until `wait`).
            let Some(j) = job.take() else { break Ok(()) };
            if self.closed.load(SeqCst) {
                break Err(j);
            }
            match self.try_push(j) {
                Ok(()) => break Ok(()),
                Err(j) => job = Some(j),
            }
            st = self.space.wait(st).unwrap_or_else(|e| e.into_inner());
        };
        self.space_waiters.fetch_sub(1, SeqCst);
        drop(st);
        result
    }

    /// Registers `waker` for room in a bounded queue, then retries: `Ok` if the job went in.
    pub(super) fn push_or_register(&self, job: Job, waker: &Waker, registered: &mut bool) -> Result<(), Job> {
        let job = match self.try_push(job) {
            Ok(()) => return Ok(()),
            Err(job) => job,
        };
        let mut st = lock(&self.state);
        if !*registered {
            self.space_waiters.fetch_add(1, SeqCst);
            *registered = true;
        }
        if !st.space_wakers.iter().any(|w| w.will_wake(waker)) {
            st.space_wakers.push(waker.clone());
        }
        let r = self.try_push(job);
        if r.is_ok() {
            self.space_waiters.fetch_sub(1, SeqCst);
            *registered = false;
        }
        r
    }

    /// Forgets a registration made by `push_or_register` (its future is done or dropped).
    pub(super) fn unregister_space_waiter(&self) {
        self.space_waiters.fetch_sub(1, SeqCst);
    }

    /// After a job was pushed: makes sure a worker will take it, or takes it back if the pool closed
    /// meanwhile or can start no thread. `revoke` fails the job's future with the reason if it is
    /// still queued (`true`: it will not run). `Err`: the pool closed, the job will not run; a job no
    /// thread could start for is not an `Err` but a future failed with `JobError::Spawn`.
    pub(super) fn after_push(self: &Arc<Self>, revoke: &dyn Fn(JobError) -> bool) -> Result<(), SubmitError> {
        // Pairs with the fences in `park`, `retire` and `close`: either they see this job, or we see
        // their registration / decrement / closing.
        fence(SeqCst);
        if self.closed.load(SeqCst) {
            // Raced with shutdown: refuse it if no worker has started it yet. A job the shutdown already
            // rejected keeps that outcome (`revoke` fails on a done future).
            let err = self.closed_error();
            if revoke(err.clone().into_job_error()) {
                return Err(err);
            }
            return Ok(());
        }
        match self.wake_one() {
            // The job waits for a thread's wakeup (or start): nothing for the submitter to spin for.
            Ok(true) => crate::spin::woke_a_sleeper(),
            Ok(false) => {}
            Err(e) => self.unstarted(e, revoke),
        }
        Ok(())
    }

    /// No thread could be started for a job just pushed: if none is alive, the job's future fails
    /// with `JobError::Spawn` (it will not run); else it waits for a busy worker.
    fn unstarted(&self, e: io::Error, revoke: &dyn Fn(JobError) -> bool) {
        if self.workers.load(SeqCst) == 0 && revoke(JobError::Spawn(e.to_string())) {
            return;
        }
        log::warn!("tulip: could not start another pool thread (the job waits for a busy one): {e}");
    }

    /// Gets one worker to look at the queue: nothing if one is spinning, else the most recently parked,
    /// else a new thread if the pool is below `max_workers`. All busy: the job waits its turn.
    /// `Ok(true)`: a parked worker was woken or a new one started.
    fn wake_one(self: &Arc<Self>) -> io::Result<bool> {
        // An empty queue means a worker already took the job (typically the spinner, within
        // nanoseconds): waking another would only rotate the hot thread out.
        if self.spinning.load(SeqCst) > 0 || self.rx.is_empty() {
            return Ok(false);
        }
        if self.sleeping.load(SeqCst) > 0 {
            let parker = {
                let mut st = lock(&self.state);
                let p = st.idle.pop();
                if p.is_some() {
                    self.sleeping.fetch_sub(1, SeqCst);
                }
                p
            };
            if let Some(p) = parker {
                p.notify(nanos(self.epoch.elapsed()).max(1));
                return Ok(true);
            }
        }
        self.spawn_worker()
    }

    /// Starts a worker thread if the pool is below `max_workers`; `Ok(true)` if it did.
    fn spawn_worker(self: &Arc<Self>) -> io::Result<bool> {
        let max = self.config.max_workers;
        if self.workers.fetch_update(SeqCst, SeqCst, |w| (w < max).then_some(w + 1)).is_err() {
            return Ok(false);
        }
        // Spawning under the lock means the handle is stored before the thread can look for it.
        let mut st = lock(&self.state);
        let id = st.next_id;
        st.next_id += 1;
        let mut builder = thread::Builder::new().name(format!("{}-{id}", self.config.thread_name_prefix));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        let shared = Arc::clone(self);
        match builder.spawn(move || worker_main(shared)) {
            Ok(handle) => {
                st.handles.push(handle);
                self.started.fetch_add(1, Relaxed);
                Ok(true)
            }
            Err(e) => {
                self.workers.fetch_sub(1, SeqCst);
                self.exited.notify_all();
                Err(e)
            }
        }
    }

    /// Called after every pop: a bounded queue now has room for one blocked submitter.
    fn popped(&self) {
        if self.config.queue_capacity.is_none() {
            return;
        }
        fence(SeqCst);
        if self.space_waiters.load(SeqCst) > 0 {
            self.signal_space();
        }
    }

    fn signal_space(&self) {
        let wakers = {
            let mut st = lock(&self.state);
            self.space.notify_all();
            std::mem::take(&mut st.space_wakers)
        };
        for w in wakers {
            w.wake();
        }
    }

    /// Takes no new jobs from now on; wakes every parked worker (they drain the queue and leave) and
    /// every blocked submitter (they fail). `broken`: why, if an initializer failed.
    pub(super) fn close(&self, broken: Option<String>) {
        let parked = {
            let mut st = lock(&self.state);
            if st.broken.is_none() {
                st.broken = broken;
            }
            self.closed.store(true, SeqCst);
            self.sleeping.store(0, SeqCst);
            std::mem::take(&mut st.idle)
        };
        for p in parked {
            p.notify(0);
        }
        self.signal_space();
    }

    /// Fails every job still queued with `err` (those already cancelled keep that outcome); returns
    /// how many were still wanted.
    pub(super) fn reject_queued(&self, err: &JobError) -> usize {
        let (mut wanted, mut all) = (0, 0);
        while let Ok(job) = self.rx.try_recv() {
            all += 1;
            if job.reject(err.clone()) {
                wanted += 1;
            }
        }
        if all > 0 {
            let counter = if *err == JobError::ShutDown { &self.rejected } else { &self.refused };
            counter.fetch_add(all, Relaxed);
            self.popped();
        }
        wanted
    }

    /// Waits until every worker except the caller (if it is one of ours) has left, or `deadline`
    /// passes; joins those that left. Returns how many are still there (each running a job).
    pub(super) fn wait_workers(&self, deadline: Option<Instant>) -> usize {
        let me = thread::current().id();
        let own = CURRENT_POOL.with(|c| c.get()) == self as *const Shared as usize;
        let floor = usize::from(own);
        let mut st = lock(&self.state);
        while self.workers.load(SeqCst) > floor {
            st = match deadline {
                None => self.exited.wait(st).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    self.exited.wait_timeout(st, left).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
        let left = self.workers.load(SeqCst).saturating_sub(floor);
        // Threads that left their loop finish within microseconds; join them so "shut down" means gone.
        let (done, keep): (Vec<_>, Vec<_>) =
            st.handles.drain(..).partition(|h| h.thread().id() != me && (left == 0 || h.is_finished()));
        st.handles = keep;
        drop(st);
        for h in done {
            let _ = h.join();
        }
        left
    }

    /// A worker leaves: count it out, then re-check the queue, because a submitter that saw this worker
    /// still counted may have left its job to it.
    fn retire(self: &Arc<Self>, detach: bool, counters: &Arc<WorkerCounters>) {
        {
            let mut st = lock(&self.state);
            if let Some(i) = st.counters.iter().position(|c| Arc::ptr_eq(c, counters)) {
                st.counters.swap_remove(i);
                let mut retired = st.retired;
                counters.add_to(&mut retired);
                retired.running = 0;
                st.retired = retired;
            }
            self.workers.fetch_sub(1, SeqCst);
            if detach {
                let me = thread::current().id();
                st.handles.retain(|h| h.thread().id() != me);
            }
            self.exited.notify_all();
        }
        fence(SeqCst);
        if !self.rx.is_empty() {
            if let Err(e) = self.wake_one() {
                log::error!("tulip: a pool thread left and none could replace it: {e}");
            }
        }
    }

    /// Takes the spinning role if it is free and spinning is on; `true` if this caller now holds it.
    fn claim_spinning(&self) -> bool {
        self.spin.enabled() && self.spinning.compare_exchange(0, 1, SeqCst, Relaxed).is_ok()
    }

    /// Gives up the spinning role held by the caller. Submitters that saw it held woke nobody, so a
    /// job still queued gets a worker woken for it (a burst fans out this way).
    fn release_spinning(self: &Arc<Self>) {
        self.spinning.store(0, SeqCst);
        fence(SeqCst);
        if !self.rx.is_empty() {
            if let Err(e) = self.wake_one() {
                log::warn!("tulip: could not start another pool thread: {e}");
            }
        }
    }

    /// Runs the initializer, if any; on failure breaks the pool (failing every queued job) and
    /// returns `false`.
    fn initialize(&self) -> bool {
        let Some(init) = &self.config.initializer else { return true };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| init()));
        let msg = match outcome {
            Ok(Ok(())) => return true,
            Ok(Err(msg)) => msg,
            Err(payload) => format!("panicked: {}", panic_message(&*payload)),
        };
        log::error!("tulip: pool initializer failed, the pool is broken: {msg}");
        self.close(Some(msg.clone()));
        self.reject_queued(&JobError::Initializer(msg));
        false
    }

    /// Busy-waits up to `idle_spin` for a job, so that a submitter that follows closely (a loop awaiting
    /// one job after another) finds a worker awake and pays no wakeup syscall. Adaptive (see
    /// [`AdaptiveSpin`]): when jobs come slowly, or the machine is so busy that the submitter rarely
    /// gets a core, the worker parks at once instead.
    fn spin(&self) -> Option<Job> {
        let found = self.spin.spin(|| match self.rx.try_recv() {
            Ok(job) => Some(Some(job)),
            Err(_) if self.closed.load(Relaxed) => Some(None),
            Err(_) => None,
        });
        found.flatten()
    }

    /// Sleeps on the idle stack until notified or `idle_timeout` passes.
    fn park(&self, me: &Arc<Parker>, was_spinning: bool) -> Parked {
        me.notified.store(false, Relaxed);
        me.notified_ns.store(0, Relaxed);
        {
            let mut st = lock(&self.state);
            if self.closed.load(SeqCst) {
                drop(st);
                if was_spinning {
                    self.spinning.store(0, SeqCst);
                }
                return Parked::Woken;
            }
            st.idle.push(Arc::clone(me));
            self.sleeping.fetch_add(1, SeqCst);
        }
        if was_spinning {
            self.spinning.store(0, SeqCst);
        }
        // A submitter that saw us spinning, or not yet sleeping, woke nobody: look once more.
        fence(SeqCst);
        if !self.rx.is_empty() && self.unpark_self(me) {
            return Parked::Woken;
        }
        let deadline = self.config.idle_timeout.and_then(|k| Instant::now().checked_add(k));
        loop {
            if me.notified.load(Acquire) {
                return Parked::Woken;
            }
            match deadline {
                None => thread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        if self.unpark_self(me) {
                            return Parked::Retire;
                        }
                        // Someone popped us just now; their notification is on its way.
                        thread::park_timeout(Duration::from_millis(1));
                    } else {
                        thread::park_timeout(d - now);
                    }
                }
            }
        }
    }

    /// When a submitter woke `me` for a job, if it did.
    fn notified_at(&self, me: &Parker) -> Option<Instant> {
        let ns = me.notified_ns.load(Relaxed);
        (ns > 0).then(|| self.epoch + Duration::from_nanos(ns))
    }

    /// Takes `me` off the idle stack; `false` if someone already did (and will notify it).
    fn unpark_self(&self, me: &Arc<Parker>) -> bool {
        let mut st = lock(&self.state);
        match st.idle.iter().rposition(|p| Arc::ptr_eq(p, me)) {
            Some(i) => {
                st.idle.remove(i);
                self.sleeping.fetch_sub(1, SeqCst);
                true
            }
            None => false,
        }
    }
}

/// Counts the worker out however its thread ends, even by a bug that panics outside a job.
struct RetireGuard<'a> {
    shared: &'a Arc<Shared>,
    counters: Arc<WorkerCounters>,
    /// Idle-timeout retirement detaches the thread; leaving because the pool closed keeps the handle
    /// for `shutdown_timeout` to join.
    detach: bool,
}

impl Drop for RetireGuard<'_> {
    fn drop(&mut self) {
        self.shared.retire(self.detach, &self.counters);
    }
}

/// A worker thread: takes a job, runs it, becomes idle, spins, sleeps, retires.
fn worker_main(shared: Arc<Shared>) {
    CURRENT_POOL.with(|c| c.set(Arc::as_ptr(&shared) as usize));
    let counters = Arc::new(WorkerCounters::default());
    lock(&shared.state).counters.push(Arc::clone(&counters));
    let mut guard = RetireGuard { shared: &shared, counters: Arc::clone(&counters), detach: false };
    if !shared.initialize() {
        return;
    }
    let mut worker = Worker::new(&shared, counters);
    loop {
        // Busy: take a job (queued, or found by spinning), run it, complete its future.
        if let Some(job) = worker.take_job() {
            worker.run(job);
            continue;
        }
        // Idle: leave a closed pool once it is drained, else sleep until woken or retired.
        match worker.idle() {
            Idle::Again => {}
            Idle::Leave => return,
            Idle::Retire => {
                guard.detach = true;
                return;
            }
        }
    }
}

/// What an idle worker does next.
enum Idle {
    /// Look at the queue again.
    Again,
    /// The pool is closed and drained.
    Leave,
    /// Idle for `idle_timeout`: the thread leaves, detached.
    Retire,
}

/// One worker's scheduling state: the only code that takes or gives up the spinning role.
struct Worker<'a> {
    shared: &'a Arc<Shared>,
    counters: Arc<WorkerCounters>,
    parker: Arc<Parker>,
    /// Whether this worker holds the spinning role (see `Shared::spinning`). Only a worker that just
    /// ran a job takes it: one woken for nothing (it raced another worker for the same job) parks
    /// again at once, so that the next job goes to the hot thread (most-recent-first reuse).
    spinner: bool,
    /// When the role's holder found the queue empty: its wait for the next job, spun or parked, is
    /// what tells whether spinning pays (`AdaptiveSpin::record`).
    idle_since: Option<Instant>,
    /// When a submitter last woke this worker from parking: where a parked wait ended.
    woken_at: Option<Instant>,
}

impl<'a> Worker<'a> {
    fn new(shared: &'a Arc<Shared>, counters: Arc<WorkerCounters>) -> Worker<'a> {
        let parker = Arc::new(Parker {
            thread: thread::current(),
            notified: AtomicBool::new(false),
            notified_ns: AtomicU64::new(0),
        });
        Worker { shared, counters, parker, spinner: false, idle_since: None, woken_at: None }
    }

    /// A queued job, or one found by spinning if this worker holds the role; gives the role up on
    /// success.
    fn take_job(&mut self) -> Option<Job> {
        let job = match self.shared.rx.try_recv() {
            Ok(job) => job,
            Err(_) if self.spinner => {
                self.idle_since.get_or_insert_with(Instant::now);
                self.shared.spin()?
            }
            Err(_) => return None,
        };
        let woken_at = self.woken_at.take();
        if let Some(since) = self.idle_since.take() {
            let ended = woken_at.unwrap_or_else(Instant::now);
            self.shared.spin.record(ended.saturating_duration_since(since));
        }
        if std::mem::take(&mut self.spinner) {
            self.shared.release_spinning();
        }
        self.shared.popped();
        Some(job)
    }

    /// Runs `job`, taking the spinning role (if free) when nothing of the user's is left to run: after
    /// the job and its done-callbacks, before the outcome wakes the submitter.
    fn run(&mut self, job: Job) {
        let (shared, spinner) = (self.shared, &mut self.spinner);
        job.run(&self.counters, &mut || *spinner = shared.claim_spinning());
    }

    /// Out of jobs: leaves a closed pool once it is drained; else parks (giving the role up).
    fn idle(&mut self) -> Idle {
        if self.shared.closed.load(SeqCst) {
            if std::mem::take(&mut self.spinner) {
                self.shared.spinning.store(0, SeqCst);
            }
            fence(SeqCst);
            return if self.shared.rx.is_empty() { Idle::Leave } else { Idle::Again };
        }
        match self.shared.park(&self.parker, std::mem::take(&mut self.spinner)) {
            Parked::Woken => {
                self.woken_at = self.shared.notified_at(&self.parker);
                Idle::Again
            }
            Parked::Retire => Idle::Retire,
        }
    }
}
