//! The driver: the one thread per pool that starts workers, writes their tasks, reads their results,
//! enforces timeouts and cancellations, and reaps them.
//!
//! # Implementation
//!
//! Each round of the loop waits on the pool's [`Poller`](polling::Poller) (worker pipes, plus `notify()` from
//! `submit`, cancellers and shutdown), then, in this order: reads every readable worker and settles
//! the results; applies cancellations; stops tasks that ran out of time or were cancelled while
//! running; dispatches queued tasks; writes what each worker has pending in one `write` per worker;
//! starts or retires workers; publishes statistics.
//!
//! Per worker it keeps the tasks sent to it in order (`fifo`). Results must come back in that order
//! (a worker runs its tasks one after the other and writes each result before starting the next),
//! so a result that does not match the head of the fifo is a protocol violation. The head is the
//! task that runs (or is about to); `head_since` is when it started, as seen from here: when the
//! previous result arrived, or when the head's frame was completely written if the worker was idle.
//!
//! Workers are started by one process-wide [`spawner`] thread, so the wait for a child's `exec`
//! never stalls a driver; that thread lives as long as the process, because on Linux the
//! parent-death signal fires when the *thread* that spawned the child exits.

use std::collections::{HashSet, VecDeque};
use std::ffi::c_int;
use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use polling::{Event, Events, PollMode};

use super::lock;
use super::spawn::{self, StatusPage, Waited};
use super::wire::{self, FrameReader, Status, ToParent};
use super::{
    Closing, Job, ProcessPoolStats, Shared, CANCEL_NONE, CANCEL_SHUTDOWN, CANCEL_USER, HANDSHAKE_TIMEOUT,
};
use crate::error::{JobError, PoolError};

/// After a cancel frame was sent for the task at the head, how long the worker gets to skip it (if it
/// had not started) before the driver concludes it runs and kills it.
const CANCEL_GRACE: Duration = Duration::from_millis(5);

/// How long the driver waits for a `SIGSTOP` to take effect before it kills without a snapshot.
const STOP_WAIT: Duration = Duration::from_millis(100);

/// How long a worker whose pipe closed may take to exit before it is killed.
const EXIT_WAIT: Duration = Duration::from_millis(50);

/// Most unwritten bytes queued for one worker; dispatch stops there until the pipe drains.
const OUT_HIGH_WATER: usize = 1 << 20;

/// Reads per readable worker per round, so one chatty worker cannot starve the others.
const READS_PER_ROUND: usize = 32;

/// How often the driver checks, with `waitpid`, that workers with tasks in flight still live. Their
/// end is normally seen at once as EOF on their pipe, unless a task forked a child that holds it.
const LIVENESS_CHECK: Duration = Duration::from_secs(1);

/// Spawn failures in a row after which tasks waiting for a worker (with none alive) are failed.
const SPAWN_FAILURES_BEFORE_GIVING_UP: u32 = 3;

/// New workers killed by `SIGKILL` from outside (the OOM killer, an operator, a chaos test) during
/// their handshake, in a row, after which `build` gives up. Once the pool is built such deaths are
/// never failures to start: the pool replaces the worker, however often, and its queued tasks wait
/// (failing them would turn a killer of workers into a killer of tasks).
const STARTUP_KILLS_TOLERATED: u32 = 32;

/// How long the driver waits before replacing a worker killed during its handshake, times the kills
/// in a row (at most ten), so that whatever kills new workers does not meet a spawn loop. (Not while
/// `build` waits for its first worker: that replacement is requested at once.)
const STARTUP_KILL_PAUSE: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Spawned, handshake not answered yet.
    Starting { deadline: Instant },
    /// Handshake passed: takes tasks.
    Ready,
}

/// A task sent to a worker.
struct InFlight {
    job: Job,
    /// The task's position in this worker's arrival order (what a `Cancel` frame names).
    seq: u64,
    /// Cumulative byte offset, in this worker's input stream, of the end of the task's frame.
    end: u64,
    /// When a `Cancel` frame was queued for it.
    cancel_sent: Option<Instant>,
}

struct Worker {
    pid: libc::pid_t,
    /// Which task the worker has started, exactly (Linux); `None` where there is no shared page.
    page: Option<StatusPage>,
    /// `None` once closed: the worker finishes what it has, then exits.
    to_worker: Option<File>,
    from_worker: File,
    phase: Phase,
    /// Takes no new tasks (recycled, pruned, or the pool is closing); exits when its fifo is empty.
    retiring: bool,
    reader: FrameReader,
    /// Bytes queued for the worker; `out[out_pos..]` is not written yet.
    out: Vec<u8>,
    out_pos: usize,
    /// Cumulative bytes queued into / written from `out`.
    queued_bytes: u64,
    written_bytes: u64,
    /// Writable interest is armed (a write would have blocked).
    write_armed: bool,
    fifo: VecDeque<InFlight>,
    next_seq: u64,
    /// When the head of `fifo` started (see the module docs); `None` while its frame is not fully
    /// written or the fifo is empty.
    head_since: Option<Instant>,
    tasks_sent: u64,
    /// When the fifo last became empty.
    idle_since: Instant,
}

impl Worker {
    /// Whether the task with sequence number `seq` has started, as far as can be known: exactly with
    /// a status page (read it while the worker is stopped or dead), else assumed.
    fn has_started(&self, seq: u64) -> bool {
        self.page.as_ref().is_none_or(|p| p.started() > seq)
    }

    /// Queues a `Cancel` frame for the task with sequence number `seq`.
    fn push_cancel(&mut self, seq: u64) {
        let before = self.out.len();
        wire::encode_cancel(&mut self.out, seq);
        self.queued_bytes += (self.out.len() - before) as u64;
    }

    /// Writes what is pending in `out` to the worker, with one `write`; accounts for what went and
    /// tells the worker, which may be spinning for input (see [`StatusPage`]).
    fn write_out(&mut self) -> io::Result<usize> {
        let pipe = self.to_worker.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        let n = pipe.write(&self.out[self.out_pos..])?;
        self.out_pos += n;
        self.written_bytes += n as u64;
        if let Some(page) = &self.page {
            page.note_input_write();
        }
        Ok(n)
    }

    fn pending_out(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// When the head must be stopped, and why: the deadline formulas of cancels and timeouts, for
    /// both the driver's wait and its check. `None`: never (no timeout, or one too far to count).
    fn head_due(&self, timeout: Option<Duration>) -> Option<(Instant, Cause)> {
        let head = self.fifo.front()?;
        let since = self.head_since?;
        let id = head.job.id;
        match head.job.ctl.cancel.load(Ordering::Acquire) {
            why @ (CANCEL_USER | CANCEL_SHUTDOWN) => {
                // The worker can skip the task only once done with the one before, so the grace
                // counts from whichever came later: the cancel, or the task reaching the head.
                let at = head.cancel_sent?.max(since) + CANCEL_GRACE;
                Some((at, if why == CANCEL_USER { Cause::Cancel(id) } else { Cause::ShutdownTask(id) }))
            }
            // Unwanted tasks that already run are left to finish, within the timeout.
            _ => Some((since.checked_add(timeout?)?, Cause::Timeout(id))),
        }
    }

    /// Whether this worker takes new tasks: it passed the handshake and is not going away.
    fn takes_work(&self) -> bool {
        self.phase == Phase::Ready && !self.retiring && self.to_worker.is_some()
    }

    /// How many more tasks dispatch may send it now, with pipelining `limit` deep.
    fn room(&self, limit: usize) -> usize {
        if !self.takes_work() || self.pending_out() >= OUT_HIGH_WATER {
            return 0;
        }
        limit.saturating_sub(self.fifo.len())
    }

    /// When this worker, idle, may exit (if the pool is above `min_workers`); `None`: never.
    fn idle_due(&self, idle_timeout: Duration) -> Option<Instant> {
        self.idle_since.checked_add(idle_timeout)
    }

    /// Sets `head_since` if the head has just become the running task; returns its queue wait.
    fn update_head(&mut self, now: Instant) -> Option<Duration> {
        if self.head_since.is_some() {
            return None;
        }
        let head = self.fifo.front()?;
        if head.end > self.written_bytes {
            return None;
        }
        self.head_since = Some(now);
        Some(now.saturating_duration_since(head.job.submitted))
    }
}

/// Why a worker is being removed.
#[derive(Debug, Clone)]
enum Cause {
    /// It ended by itself (its pipe closed or a write to it failed).
    Ended,
    /// It closed its pipe but went on running, and the pool killed it.
    Lingered,
    /// Killed to stop task `id`, which was cancelled.
    Cancel(u64),
    /// Killed to stop task `id`, which ran past its time limit.
    Timeout(u64),
    /// Killed to stop task `id` at shutdown.
    ShutdownTask(u64),
    /// Killed because it sent something invalid.
    Protocol(String),
    /// Refused the handshake.
    Refused(String),
    /// Did not answer the handshake in time.
    HandshakeTimeout,
    /// Killed because the pool is shutting down now.
    Shutdown,
}

/// What happened while a worker was borrowed, applied to the driver afterwards.
struct Tally {
    /// The pool's shared state, for its counters.
    shared: Arc<Shared>,
    /// Execution times reported by workers, for the pipelining depth.
    exec_ns: Vec<u64>,
    became_ready: bool,
    /// Jobs whose outcome is decided; their futures are completed once the driver's lock is released.
    done: Vec<Job>,
}

impl Tally {
    fn new(shared: &Arc<Shared>) -> Self {
        Tally { shared: shared.clone(), exec_ns: Vec::new(), became_ready: false, done: Vec::new() }
    }

    fn queue_wait(&self, d: Duration) {
        let ns = d.as_nanos().min(u64::MAX as u128) as u64;
        self.shared.counters.queue_wait_ns.fetch_add(ns, Ordering::Relaxed);
        self.shared.counters.queue_wait_max_ns.fetch_max(ns, Ordering::Relaxed);
    }
}

/// Decides a job's outcome: a user's cancel wins over whatever else happened, since `cancel()` said
/// so. The result is decoded now (its bytes live in a read buffer); the future is completed later,
/// outside the driver's lock, so that code woken by it can submit straight to a worker.
///
/// The job is counted before its future completes, so whoever sees the result sees it counted.
fn settle(mut job: Job, outcome: Result<&[u8], JobError>, tally: &mut Tally) {
    let outcome = match job.ctl.cancel.load(Ordering::Acquire) {
        CANCEL_USER => Err(JobError::Cancelled),
        _ => outcome,
    };
    let c = &tally.shared.counters;
    let counter = match &outcome {
        Ok(_) | Err(JobError::Panicked(_)) | Err(JobError::Codec(_)) => Some(&c.completed),
        Err(JobError::Cancelled) => Some(&c.cancelled),
        Err(JobError::TimedOut) => Some(&c.timed_out),
        Err(_) => None,
    };
    if let Some(counter) = counter {
        counter.fetch_add(1, Ordering::Release);
    }
    if let Err(JobError::Panicked(_)) = &outcome {
        c.panicked.fetch_add(1, Ordering::Release);
    }
    job.sink.resolve(outcome);
    tally.done.push(job);
}

/// What reading a worker found besides results.
enum ReadEnd {
    /// Nothing more to read now.
    Drained,
    /// End of stream: the worker closed its pipe (it exited, or is exiting).
    Eof,
    /// A frame that breaks the protocol.
    Protocol(String),
    /// The worker refused the handshake.
    Refused(String),
}

pub(crate) struct Driver {
    shared: Arc<Shared>,
    token: [u8; 16],
    /// The pre-encoded `Hello` frame every new worker gets first.
    hello: Vec<u8>,
    /// Slab of workers; poll keys are `2 * slot` (read end) and `2 * slot + 1` (write end).
    workers: Vec<Option<Worker>>,
    /// Jobs settled in this round, completed after the lock is released.
    done: Vec<Job>,
    /// `finish` has run.
    finished: bool,
    /// Where `build` waits for the first handshake.
    startup: Option<crossbeam_channel::Sender<Result<(), PoolError>>>,
    closing: Option<Closing>,
    cancel_pending_done: bool,
    /// Work was killed at a shutdown deadline.
    forced: bool,
    /// Moving average of task execution time in ns (0 = no sample yet).
    ewma_ns: f64,
    spawn_failures: u32,
    /// New workers killed by `SIGKILL` during their handshake since one last passed it.
    startup_kills: u32,
    spawn_retry_at: Option<Instant>,
    /// The value of the worker marker variable (see [`spawn::ENV`]).
    env_value: String,
    /// Where the [`spawner`] thread sends this pool's new workers.
    spawned_tx: crossbeam_channel::Sender<io::Result<spawn::Spawned>>,
    spawned_rx: crossbeam_channel::Receiver<io::Result<spawn::Spawned>>,
    /// Spawns requested whose result has not been taken yet.
    pending_spawns: usize,
    /// A worker was removed since `maintain` last ran: the next round must come at once, or a
    /// worker found dead by the writes at the end of a round (after `maintain`) would leave the pool
    /// short, with nothing left to wake the driver.
    resize_due: bool,
    /// When busy workers were last checked with `waitpid` (see [`LIVENESS_CHECK`]).
    last_liveness_check: Instant,
    stats: ProcessPoolStats,
}

/// Whether the calling thread is the process's main thread, whose end is the end of the process.
#[cfg(target_os = "linux")]
fn on_main_thread() -> bool {
    // SAFETY: gettid and getpid have no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) == libc::getpid() as libc::c_long }
}

#[cfg(not(target_os = "linux"))]
fn on_main_thread() -> bool {
    false
}

/// A request to the process-wide spawner thread.
struct SpawnRequest {
    env_value: String,
    reply: crossbeam_channel::Sender<io::Result<spawn::Spawned>>,
    /// The pool to wake when the worker is there.
    wake: Weak<Shared>,
}

/// The thread that starts every pool's worker processes, created on first use.
///
/// `posix_spawn` returns only once the child has called `exec`, which takes a while (longer on a
/// loaded machine); on its own thread that wait never delays a driver's I/O, and creating a pool
/// does not pay for a new thread. It lives as long as the process, which is what the parent-death
/// signal needs on Linux: it fires when the *thread* that spawned the worker exits.
fn spawner() -> io::Result<crossbeam_channel::Sender<SpawnRequest>> {
    static SPAWNER: Mutex<Option<crossbeam_channel::Sender<SpawnRequest>>> = Mutex::new(None);
    let mut slot = lock(&SPAWNER);
    if let Some(tx) = slot.as_ref() {
        return Ok(tx.clone());
    }
    let (tx, rx) = crossbeam_channel::unbounded::<SpawnRequest>();
    std::thread::Builder::new().name("tulip-process-spawn".into()).spawn(move || {
        for req in rx {
            let r = spawn::spawn_worker(&req.env_value);
            if let Err(crossbeam_channel::SendError(Ok(orphan))) = req.reply.send(r) {
                // Its pool is gone: nobody else will kill and reap it.
                spawn::kill(orphan.pid, libc::SIGKILL);
                spawn::wait_blocking(orphan.pid);
            }
            if let Some(shared) = req.wake.upgrade() {
                let _ = shared.poller.notify();
            }
        }
    })?;
    *slot = Some(tx.clone());
    Ok(tx)
}

impl Driver {
    /// A driver whose first workers are already being started.
    pub(crate) fn new(
        shared: Arc<Shared>,
        token: [u8; 16],
        startup: crossbeam_channel::Sender<Result<(), PoolError>>,
    ) -> io::Result<Driver> {
        let mut hello = Vec::new();
        wire::encode_hello(&mut hello, &token, &spawn::fingerprint(), shared.config.max_frame_size as u32);
        let (spawned_tx, spawned_rx) = crossbeam_channel::unbounded();
        let mut d = Driver {
            token,
            hello,
            shared,
            workers: Vec::new(),
            done: Vec::new(),
            finished: false,
            startup: Some(startup),
            closing: None,
            cancel_pending_done: false,
            forced: false,
            ewma_ns: 0.0,
            spawn_failures: 0,
            startup_kills: 0,
            spawn_retry_at: None,
            env_value: super::worker::env_value(&token),
            spawned_tx,
            spawned_rx,
            pending_spawns: 0,
            resize_due: false,
            last_liveness_check: Instant::now(),
            stats: ProcessPoolStats::default(),
        };
        let requests = spawner()?;
        let mut wanted = d.shared.config.min_workers.max(1);
        // On the main thread the first worker is spawned right here, one hand-off less before its
        // handshake. The parent-death signal is tied to the spawning thread, and the main thread
        // lives as long as the process, like the spawner thread.
        let here = on_main_thread();
        if here {
            wanted -= 1;
        }
        for _ in 0..wanted {
            d.request_spawn_with(&requests);
        }
        if here {
            let first = spawn::spawn_worker(&d.env_value);
            d.register(first, Instant::now());
        }
        Ok(d)
    }

    /// Runs rounds until the first worker has passed its handshake or failed (the answer goes to
    /// the `startup` channel). Called by `build`, on its own thread, before the driver thread exists.
    pub(crate) fn start_up(&mut self) {
        let mut events = Events::new();
        while self.startup.is_some() {
            let timeout = self.next_deadline().map(|d| d.saturating_duration_since(Instant::now()));
            events.clear();
            if let Err(e) = self.shared.poller.wait(&mut events, timeout) {
                log::error!("tulip: the process pool's poller failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
            let now = Instant::now();
            self.take_spawned(now);
            self.on_events(&events, now);
            self.check_startups(Instant::now());
            self.flush_all(Instant::now());
        }
        self.publish_stats();
    }

    /// One round, after the poller woke: everything but the wait. Returns `true` when the driver
    /// is done.
    fn round(&mut self, events: &Events) -> bool {
        let (cancels, closing) = {
            let mut inbox = lock(&self.shared.inbox);
            (std::mem::take(&mut inbox.cancels), inbox.closing)
        };
        if closing.is_some() {
            self.closing = closing;
        }
        let now = Instant::now();
        self.take_spawned(now);
        self.on_events(events, now);
        self.apply_cancels(cancels, now);
        self.check_heads(Instant::now());
        self.check_startups(Instant::now());
        self.check_liveness(Instant::now());
        if self.on_closing(Instant::now()) {
            return true;
        }
        self.dispatch();
        self.maintain(Instant::now());
        self.flush_all(Instant::now());
        self.publish_stats();
        false
    }

    /// Sends `job` straight to an idle worker, from the submitting thread, if that keeps the order
    /// of submission (nothing queued) and the driver is not busy (the caller only try-locks). One
    /// wake-up less on the way to the worker: the driver is not involved until the result arrives.
    pub(crate) fn try_direct(&mut self, job: Job) -> Result<(), Job> {
        if self.finished || self.closing.is_some() || self.startup.is_some() {
            return Err(job);
        }
        {
            let inbox = lock(&self.shared.inbox);
            if inbox.closing.is_some() || !inbox.queue.is_empty() {
                return Err(job);
            }
        }
        let idle = self.workers.iter().position(|w| {
            w.as_ref().is_some_and(|w| {
                w.takes_work() && w.fifo.is_empty() && w.pending_out() == 0 && !w.write_armed
            })
        });
        let Some(slot) = idle else { return Err(job) };
        if !job.sink.start() {
            // Cancelled before it was even sent (its future is complete).
            return Ok(());
        }
        let now = Instant::now();
        self.send_to(slot, job);
        let Some(w) = self.workers[slot].as_mut() else { return Ok(()) };
        let mut need_driver = self.shared.config.task_timeout.is_some();
        if w.to_worker.is_some() {
            // Blocked or broken: what is left is the driver's to flush (or to find broken).
            let _ = w.write_out();
            if w.out_pos == w.out.len() {
                w.out.clear();
                w.out_pos = 0;
            } else {
                need_driver = true;
            }
        }
        if let Some(wait) = w.update_head(now) {
            Tally::new(&self.shared).queue_wait(wait);
        }
        if need_driver {
            let _ = self.shared.poller.notify();
        }
        self.publish_stats();
        Ok(())
    }

    /// Stops the pool for good: kills and reaps every worker, joins the spawner, settles every job
    /// left, and releases whoever waits for the shutdown. Runs once, whatever ended the driver.
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        for slot in 0..self.workers.len() {
            if self.workers[slot].is_some() {
                self.kill_worker(slot, Cause::Shutdown);
            }
        }
        // Workers still being spawned for this pool are killed as they arrive.
        while self.pending_spawns > 0 {
            match self.spawned_rx.recv_timeout(Duration::from_secs(30)) {
                Ok(r) => {
                    self.pending_spawns -= 1;
                    if let Ok(s) = r {
                        spawn::kill(s.pid, libc::SIGKILL);
                        spawn::wait_blocking(s.pid);
                    }
                }
                Err(_) => break,
            }
        }
        let leftovers: Vec<Job> = {
            let mut inbox = lock(&self.shared.inbox);
            if inbox.closing.is_none() {
                inbox.closing = Some(Closing { cancel_pending: true, deadline: None, kill: true });
            }
            self.shared.closed.store(true, Ordering::Release);
            inbox.queue.drain(..).collect()
        };
        let mut tally = Tally::new(&self.shared);
        for job in leftovers {
            settle(job, Err(JobError::ShutDown), &mut tally);
        }
        self.absorb(tally);
        for job in self.done.drain(..) {
            job.sink.complete();
        }
        if let Some(tx) = self.startup.take() {
            let _ = tx.send(Err(PoolError::ShutDown));
        }
        self.publish_stats();
        *lock(&self.shared.finished) = Some(self.forced);
        self.shared.finished_cv.notify_all();
    }

    fn live(&self) -> usize {
        self.workers.iter().flatten().count()
    }

    /// Workers that count towards the pool's size: being spawned, starting, or ready and not retiring.
    fn usable(&self) -> usize {
        self.pending_spawns + self.workers.iter().flatten().filter(|w| !w.retiring).count()
    }

    fn depth_limit(&self) -> usize {
        if self.ewma_ns <= 0.0 || self.ewma_ns >= 1e6 {
            1
        } else {
            (2e6 / self.ewma_ns).clamp(2.0, 512.0) as usize
        }
    }

    fn absorb(&mut self, mut t: Tally) {
        self.done.append(&mut t.done);
        for ns in t.exec_ns {
            self.ewma_ns = if self.ewma_ns <= 0.0 { ns as f64 } else { 0.8 * self.ewma_ns + 0.2 * ns as f64 };
        }
        if t.became_ready {
            self.spawn_failures = 0;
            self.startup_kills = 0;
            self.spawn_retry_at = None;
            if let Some(tx) = self.startup.take() {
                let _ = tx.send(Ok(()));
            }
        }
    }

    // ----- starting workers -------------------------------------------------------------------

    /// Asks the spawner thread for one more worker.
    fn request_spawn(&mut self) {
        match spawner() {
            Ok(requests) => self.request_spawn_with(&requests),
            Err(e) => self.start_failed(Instant::now(), PoolError::Spawn(e)),
        }
    }

    fn request_spawn_with(&mut self, requests: &crossbeam_channel::Sender<SpawnRequest>) {
        let req = SpawnRequest {
            env_value: self.env_value.clone(),
            reply: self.spawned_tx.clone(),
            wake: Arc::downgrade(&self.shared),
        };
        match requests.send(req) {
            Ok(()) => self.pending_spawns += 1,
            Err(_) => self.start_failed(
                Instant::now(),
                PoolError::Spawn(io::Error::other("the spawner thread is gone")),
            ),
        }
    }

    /// Takes the workers the spawner has started since the last round.
    fn take_spawned(&mut self, now: Instant) {
        loop {
            let Ok(r) = self.spawned_rx.try_recv() else { return };
            self.pending_spawns -= 1;
            self.register(r, now);
        }
    }

    /// Adds a started worker (or handles why it could not start).
    fn register(&mut self, spawned: io::Result<spawn::Spawned>, now: Instant) {
        match spawned {
            Ok(s) => {
                let slot = match self.workers.iter().position(Option::is_none) {
                    Some(i) => i,
                    None => {
                        self.workers.push(None);
                        self.workers.len() - 1
                    }
                };
                let poller = &self.shared.poller;
                // SAFETY: both fds are deleted from the poller before their `File`s are dropped
                // (`remove`, `close_input`).
                let registered = unsafe {
                    poller.add_with_mode(&s.from_worker, Event::readable(2 * slot), PollMode::Level).and_then(
                        |()| {
                            poller.add(&s.to_worker, Event::none(2 * slot + 1)).inspect_err(|_| {
                                let _ = poller.delete(&s.from_worker);
                            })
                        },
                    )
                };
                if let Err(e) = registered {
                    spawn::kill(s.pid, libc::SIGKILL);
                    spawn::wait_blocking(s.pid);
                    self.start_failed(now, PoolError::Spawn(e));
                    return;
                }
                self.shared.counters.workers_started.fetch_add(1, Ordering::Release);
                self.workers[slot] = Some(Worker {
                    pid: s.pid,
                    page: s.page,
                    to_worker: Some(s.to_worker),
                    from_worker: s.from_worker,
                    phase: Phase::Starting { deadline: now + HANDSHAKE_TIMEOUT },
                    retiring: false,
                    reader: FrameReader::new(self.shared.config.max_frame_size),
                    out: self.hello.clone(),
                    out_pos: 0,
                    queued_bytes: self.hello.len() as u64,
                    written_bytes: 0,
                    write_armed: false,
                    fifo: VecDeque::new(),
                    next_seq: 0,
                    head_since: None,
                    tasks_sent: 0,
                    idle_since: now,
                });
                self.flush(slot, now);
            }
            Err(e) => self.start_failed(now, PoolError::Spawn(e)),
        }
    }

    /// A worker could not be started or failed its handshake.
    fn start_failed(&mut self, now: Instant, err: PoolError) {
        self.spawn_failures += 1;
        let backoff = Duration::from_millis(50) * (1 << self.spawn_failures.min(6));
        self.spawn_retry_at = Some(now + backoff);
        if let Some(tx) = self.startup.take() {
            let _ = tx.send(Err(err));
            return;
        }
        log::error!("tulip: could not start a process-pool worker: {err}");
        if self.spawn_failures >= SPAWN_FAILURES_BEFORE_GIVING_UP && self.usable() == 0 {
            let jobs: Vec<Job> = lock(&self.shared.inbox).queue.drain(..).collect();
            let mut tally = Tally::new(&self.shared);
            for job in jobs {
                let e = JobError::WorkerDied(format!("no worker process could be started: {err}"));
                settle(job, Err(e), &mut tally);
            }
            self.absorb(tally);
        }
    }

    /// A worker died before it passed its handshake: says why, as precisely as the exit status
    /// allows, and decides whether that counts as a failure to start.
    fn start_ended(&mut self, now: Instant, status: Option<c_int>, how: &str, cause: &Cause) {
        let signal = status.filter(|&s| libc::WIFSIGNALED(s)).map(|s| libc::WTERMSIG(s));
        let why = match cause {
            // The pool's own shutdown: nothing failed.
            Cause::Shutdown => return,
            // A `SIGKILL` that the pool did not send comes from outside, and says nothing about the
            // program: replace the worker (in `build`, a few dozen times in a row before giving up).
            Cause::Ended
                if signal == Some(libc::SIGKILL)
                    && (self.startup.is_none() || self.startup_kills < STARTUP_KILLS_TOLERATED) =>
            {
                self.startup_kills = self.startup_kills.saturating_add(1);
                log::warn!(
                    "tulip: a new process-pool worker was {how} during its handshake; starting another"
                );
                let pause = now + STARTUP_KILL_PAUSE * self.startup_kills.min(10);
                self.spawn_retry_at = Some(self.spawn_retry_at.map_or(pause, |t| t.max(pause)));
                if self.startup.is_some() {
                    // `build` is waiting for a first worker, and nothing else starts one meanwhile.
                    self.request_spawn();
                }
                return;
            }
            Cause::Refused(msg) => format!("the worker refused the handshake: {msg}"),
            Cause::HandshakeTimeout => format!(
                "the worker did not answer the handshake within {} s; make sure \
                 `tulip::process::init();` is the first statement of main",
                HANDSHAKE_TIMEOUT.as_secs()
            ),
            Cause::Protocol(msg) => {
                format!("the worker answered the handshake with an invalid frame ({msg})")
            }
            Cause::Lingered => "the worker closed its pipes before completing the handshake but went on \
                 running; make sure `tulip::process::init();` is the first statement of main"
                .to_string(),
            _ if signal == Some(libc::SIGKILL) => {
                format!(
                    "{} new workers in a row were {how} during their handshake while the pool was built",
                    self.startup_kills + 1
                )
            }
            // Killed by a fault of its own: the program crashes before or while it becomes a worker.
            _ if signal.is_some() => {
                format!("the worker {how} before completing the handshake (see the worker's stderr)")
            }
            // It exited: most likely `main` ran to its end without ever becoming a worker.
            _ => format!(
                "the worker {how} before completing the handshake; make sure \
                 `tulip::process::init();` is the first statement of main (see the worker's stderr)"
            ),
        };
        self.start_failed(now, PoolError::Handshake(why));
    }

    /// Reaps busy workers that died without their pipe closing (a child they forked holds it).
    fn check_liveness(&mut self, now: Instant) {
        if now < self.last_liveness_check + LIVENESS_CHECK {
            return;
        }
        self.last_liveness_check = now;
        for slot in 0..self.workers.len() {
            let Some(pid) = self.workers[slot].as_ref().filter(|w| !w.fifo.is_empty()).map(|w| w.pid) else {
                continue;
            };
            if let Waited::Gone(status) = spawn::try_wait(pid, false) {
                self.remove(slot, Some(status), Cause::Ended);
            }
        }
    }

    fn check_startups(&mut self, now: Instant) {
        for slot in 0..self.workers.len() {
            let late = matches!(&self.workers[slot], Some(w) if matches!(w.phase, Phase::Starting { deadline } if now >= deadline));
            if late {
                self.kill_worker(slot, Cause::HandshakeTimeout);
            }
        }
    }

    // ----- reading ----------------------------------------------------------------------------

    fn on_events(&mut self, events: &Events, now: Instant) {
        let keys: Vec<usize> = events.iter().map(|e| e.key).collect();
        for key in keys {
            let slot = key / 2;
            if key % 2 == 1 {
                if let Some(w) = self.workers.get_mut(slot).and_then(Option::as_mut) {
                    w.write_armed = false;
                }
                self.flush(slot, now);
            } else {
                self.read_worker(slot, now);
            }
        }
    }

    /// Reads what worker `slot` has written and acts on what it finds.
    fn read_worker(&mut self, slot: usize, now: Instant) {
        let Some(w) = self.workers.get_mut(slot).and_then(Option::as_mut) else { return };
        let mut tally = Tally::new(&self.shared);
        let end = read_frames(w, &self.token, now, &mut tally, READS_PER_ROUND);
        self.absorb(tally);
        match end {
            ReadEnd::Drained => {}
            ReadEnd::Eof => self.on_eof(slot),
            ReadEnd::Protocol(msg) => self.kill_worker(slot, Cause::Protocol(msg)),
            ReadEnd::Refused(msg) => self.kill_worker(slot, Cause::Refused(msg)),
        }
    }

    /// The worker's output closed: collect its exit status (killing it if it lingers) and remove it.
    fn on_eof(&mut self, slot: usize) {
        let Some(pid) = self.workers[slot].as_ref().map(|w| w.pid) else { return };
        let started = Instant::now();
        let mut spins = 0u32;
        let (status, cause) = loop {
            match spawn::try_wait(pid, false) {
                Waited::Gone(status) => break (Some(status), Cause::Ended),
                Waited::Unknown => break (None, Cause::Ended),
                Waited::Running | Waited::Stopped if started.elapsed() >= EXIT_WAIT => {
                    // It closed its pipe but lives on: it cannot be talked to any more.
                    spawn::kill(pid, libc::SIGKILL);
                    break (spawn::wait_blocking(pid), Cause::Lingered);
                }
                _ => {
                    spins += 1;
                    if spins < 20 {
                        std::thread::yield_now();
                    } else {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
            }
        };
        self.remove(slot, status, cause);
    }

    /// Kills worker `slot` (`SIGKILL`), reaps it, and settles its tasks according to `cause`.
    fn kill_worker(&mut self, slot: usize, cause: Cause) {
        let Some(pid) = self.workers[slot].as_ref().map(|w| w.pid) else { return };
        spawn::kill(pid, libc::SIGKILL);
        let status = spawn::wait_blocking(pid);
        self.remove(slot, status, cause);
    }

    /// Removes a dead (reaped) worker: reads the results it wrote before dying, fails the task it was
    /// running, and sends the tasks it never started back to the queue.
    fn remove(&mut self, slot: usize, status: Option<c_int>, cause: Cause) {
        let Some(mut w) = self.workers[slot].take() else { return };
        self.resize_due = true;
        let poller = &self.shared.poller;
        let _ = poller.delete(&w.from_worker);
        if let Some(f) = w.to_worker.take() {
            let _ = poller.delete(&f);
        }
        let now = Instant::now();
        let mut tally = Tally::new(&self.shared);
        // The worker is gone: whatever it wrote is in the pipe now. Frames after a bad one are lost.
        let _ = read_frames(&mut w, &self.token, now, &mut tally, usize::MAX);
        let how = match status {
            Some(s) => spawn::describe_status(s),
            None => "vanished (its exit status was collected elsewhere)".to_string(),
        };
        let graceful = matches!(cause, Cause::Ended)
            && w.fifo.is_empty()
            && status.is_some_and(|s| libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 0);
        let killed_by_pool = matches!(
            cause,
            Cause::Cancel(_)
                | Cause::Timeout(_)
                | Cause::ShutdownTask(_)
                | Cause::Shutdown
                | Cause::HandshakeTimeout
        );
        if !graceful && !killed_by_pool {
            self.shared.counters.worker_deaths.fetch_add(1, Ordering::Release);
            if !matches!(cause, Cause::Refused(_)) && w.phase == Phase::Ready {
                log::warn!("tulip: process-pool worker {} {how}", w.pid);
            }
        }

        if let Phase::Starting { .. } = w.phase {
            self.start_ended(now, status, &how, &cause);
        }

        let mut fifo = std::mem::take(&mut w.fifo);
        // A head that provably never started is no victim: it goes back to the queue like the rest.
        let head_ran = fifo.front().is_some_and(|h| w.has_started(h.seq));
        let victim = if head_ran || matches!(cause, Cause::Shutdown) { fifo.pop_front() } else { None };
        // A head that never started but was next in line when its worker died once too often: it
        // may be what kills them (nothing the pool sends should, but a frame the worker cannot take
        // would), so it stops here rather than take down one worker after another.
        if victim.is_none() {
            if let Some(n) = fifo.front_mut().and_then(|head| head.job.died_at_head()) {
                if let Some(head) = fifo.pop_front() {
                    let e = match head.job.ctl.cancel.load(Ordering::Acquire) {
                        CANCEL_SHUTDOWN => JobError::ShutDown,
                        _ => JobError::WorkerDied(format!(
                            "{n} workers died with this task next in line, before starting it (the last \
                             one {how})"
                        )),
                    };
                    settle(head.job, Err(e), &mut tally);
                }
            }
        }
        if let Some(head) = victim {
            let err = match &cause {
                Cause::Cancel(id) if *id == head.job.id => JobError::Cancelled,
                Cause::Timeout(id) if *id == head.job.id => JobError::TimedOut,
                Cause::ShutdownTask(id) if *id == head.job.id => JobError::ShutDown,
                Cause::Shutdown => JobError::ShutDown,
                Cause::Protocol(msg) => {
                    JobError::WorkerDied(format!("{how} after it sent a malformed frame: {msg}"))
                }
                Cause::Cancel(_) | Cause::Timeout(_) | Cause::ShutdownTask(_) => {
                    JobError::WorkerDied(format!("{how}: the pool stopped it to end another task"))
                }
                _ => JobError::WorkerDied(how.clone()),
            };
            settle(head.job, Err(err), &mut tally);
        }
        let mut requeue = Vec::new();
        for entry in fifo {
            match entry.job.ctl.cancel.load(Ordering::Acquire) {
                CANCEL_SHUTDOWN => settle(entry.job, Err(JobError::ShutDown), &mut tally),
                CANCEL_NONE if !matches!(cause, Cause::Shutdown) => requeue.push(entry.job),
                _ if matches!(cause, Cause::Shutdown) => {
                    settle(entry.job, Err(JobError::ShutDown), &mut tally)
                }
                _ => settle(entry.job, Err(JobError::Cancelled), &mut tally),
            }
        }
        if !requeue.is_empty() {
            let mut inbox = lock(&self.shared.inbox);
            for job in requeue.into_iter().rev() {
                inbox.queue.push_front(job);
            }
        }
        self.absorb(tally);
    }

    // ----- cancellations and timeouts ---------------------------------------------------------

    fn apply_cancels(&mut self, ids: Vec<u64>, now: Instant) {
        if ids.is_empty() {
            return;
        }
        let ids: HashSet<u64> = ids.into_iter().collect();
        for w in self.workers.iter_mut().flatten() {
            let seqs: Vec<u64> = w
                .fifo
                .iter_mut()
                .filter(|e| e.cancel_sent.is_none() && ids.contains(&e.job.id))
                .map(|e| {
                    e.cancel_sent = Some(now);
                    e.seq
                })
                .collect();
            for seq in seqs {
                w.push_cancel(seq);
            }
        }
        // A running task whose worker died was re-queued with its future still "running": its
        // cancel lands here.
        let found: Vec<Job> = {
            let mut inbox = lock(&self.shared.inbox);
            let mut found = Vec::new();
            let mut i = 0;
            while i < inbox.queue.len() {
                if ids.contains(&inbox.queue[i].id) {
                    if let Some(job) = inbox.queue.remove(i) {
                        found.push(job);
                    }
                } else {
                    i += 1;
                }
            }
            found
        };
        let mut tally = Tally::new(&self.shared);
        for job in found {
            settle(job, Err(JobError::Cancelled), &mut tally);
        }
        self.absorb(tally);
    }

    /// Stops heads that were cancelled (and not skipped) or ran past the timeout.
    fn check_heads(&mut self, now: Instant) {
        let timeout = self.shared.config.task_timeout;
        let victims: Vec<(usize, Cause)> = (self.workers.iter().enumerate())
            .filter_map(|(slot, w)| w.as_ref().and_then(|w| w.head_due(timeout)).map(|due| (slot, due)))
            .filter(|(_, (at, _))| now >= *at)
            .map(|(slot, (_, cause))| (slot, cause))
            .collect();
        for (slot, cause) in victims {
            self.stop_and_kill(slot, cause);
        }
    }

    /// Freezes the worker, reads what it already wrote, and kills it only if the victim is still the
    /// task it runs; otherwise lets it go on.
    fn stop_and_kill(&mut self, slot: usize, cause: Cause) {
        let victim = match cause {
            Cause::Cancel(id) | Cause::Timeout(id) | Cause::ShutdownTask(id) => id,
            _ => return self.kill_worker(slot, cause),
        };
        let Some(pid) = self.workers[slot].as_ref().map(|w| w.pid) else { return };
        if !spawn::kill(pid, libc::SIGSTOP) {
            return self.on_eof(slot);
        }
        let started = Instant::now();
        loop {
            match spawn::try_wait(pid, true) {
                Waited::Stopped => break,
                Waited::Gone(status) => return self.remove(slot, Some(status), Cause::Ended),
                Waited::Unknown => break,
                Waited::Running if started.elapsed() >= STOP_WAIT => break,
                Waited::Running => std::thread::yield_now(),
            }
        }
        let now = Instant::now();
        let Some(w) = self.workers[slot].as_mut() else { return };
        let mut tally = Tally::new(&self.shared);
        let end = read_frames(w, &self.token, now, &mut tally, usize::MAX);
        let still_head = w.fifo.front().is_some_and(|h| h.job.id == victim);
        let started = w.fifo.front().is_some_and(|h| w.has_started(h.seq));
        if still_head && !started {
            // The worker has not even reached it (it was slow to get the CPU): look again later. A
            // cancelled task will be skipped; a timeout counts from now.
            w.head_since = Some(now);
        }
        self.absorb(tally);
        if still_head && started {
            return self.kill_worker(slot, cause);
        }
        spawn::kill(pid, libc::SIGCONT);
        match end {
            ReadEnd::Drained => {}
            ReadEnd::Eof => self.on_eof(slot),
            ReadEnd::Protocol(msg) => self.kill_worker(slot, Cause::Protocol(msg)),
            ReadEnd::Refused(msg) => self.kill_worker(slot, Cause::Refused(msg)),
        }
    }

    // ----- dispatching and writing ------------------------------------------------------------

    /// Sends queued tasks to the workers with room, the least loaded first. Tasks nobody wants any
    /// more are settled on the way and take no room, so a task behind them goes out in this round.
    fn dispatch(&mut self) {
        if self.closing.is_some_and(|c| c.kill) {
            return;
        }
        let limit = self.depth_limit();
        let mut tally = Tally::new(&self.shared);
        loop {
            let total: usize = self.workers.iter().flatten().map(|w| w.room(limit)).sum();
            let jobs: Vec<Job> = {
                let mut inbox = lock(&self.shared.inbox);
                let n = total.min(inbox.queue.len());
                inbox.queue.drain(..n).collect()
            };
            if jobs.is_empty() {
                break;
            }
            for job in jobs {
                // Cancelled or dropped while queued (its future may be complete already).
                if job.ctl.cancel.load(Ordering::Acquire) != CANCEL_NONE || !job.sink.start() {
                    settle(job, Err(JobError::Cancelled), &mut tally);
                    continue;
                }
                let best = (self.workers.iter().enumerate())
                    .filter_map(|(i, w)| w.as_ref().filter(|w| w.room(limit) > 0).map(|w| (w.fifo.len(), i)))
                    .min();
                // `total` counted the room: there is a worker for every job taken.
                if let Some((_, slot)) = best {
                    self.send_to(slot, job);
                }
            }
        }
        self.absorb(tally);
    }

    /// Queues `job` for worker `slot` (written by the next flush).
    fn send_to(&mut self, slot: usize, job: Job) {
        let max_tasks = self.shared.config.max_tasks_per_child;
        let Some(w) = self.workers[slot].as_mut() else { return };
        w.out.extend_from_slice(&job.frame);
        w.queued_bytes += job.frame.len() as u64;
        let seq = w.next_seq;
        w.next_seq += 1;
        w.fifo.push_back(InFlight { job, seq, end: w.queued_bytes, cancel_sent: None });
        w.tasks_sent += 1;
        if max_tasks.is_some_and(|m| w.tasks_sent >= m) {
            w.retiring = true;
        }
    }

    fn flush_all(&mut self, now: Instant) {
        for slot in 0..self.workers.len() {
            if self.workers[slot].as_ref().is_some_and(|w| w.pending_out() > 0 && !w.write_armed) {
                self.flush(slot, now);
            }
        }
    }

    /// Writes what is pending for worker `slot`, as far as the pipe takes it.
    fn flush(&mut self, slot: usize, now: Instant) {
        let Some(w) = self.workers.get_mut(slot).and_then(Option::as_mut) else { return };
        if w.to_worker.is_none() {
            w.out.clear();
            w.out_pos = 0;
            return;
        }
        let mut broken = false;
        while w.out_pos < w.out.len() {
            match w.write_out() {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !w.write_armed {
                        w.write_armed = true;
                        let watched = w
                            .to_worker
                            .as_ref()
                            .map(|pipe| self.shared.poller.modify(pipe, Event::writable(2 * slot + 1)));
                        if let Some(Err(e)) = watched {
                            log::error!("tulip: could not watch a worker's pipe: {e}");
                        }
                    }
                    break;
                }
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        if w.out_pos == w.out.len() {
            w.out.clear();
            w.out_pos = 0;
        } else if w.out_pos >= OUT_HIGH_WATER {
            w.out.drain(..w.out_pos);
            w.out_pos = 0;
        }
        if let Some(wait) = w.update_head(now) {
            Tally::new(&self.shared).queue_wait(wait);
        }
        if broken {
            // Its input is closed: it is dead or dying.
            self.on_eof(slot);
        }
    }

    // ----- growing, shrinking, closing --------------------------------------------------------

    /// Closes a worker's input: it finishes what it has, then exits; its end is seen as EOF.
    fn close_input(&mut self, slot: usize) {
        if let Some(w) = self.workers[slot].as_mut() {
            w.retiring = true;
            if let Some(f) = w.to_worker.take() {
                let _ = self.shared.poller.delete(&f);
            }
        }
    }

    fn maintain(&mut self, now: Instant) {
        self.resize_due = false;
        let cfg = &self.shared.config;
        let (min, max, idle_timeout) = (cfg.min_workers, cfg.max_workers, cfg.idle_timeout);
        let queue_len = lock(&self.shared.inbox).queue.len();
        let closing = self.closing.is_some();
        let mut usable = self.usable();
        for slot in 0..self.workers.len() {
            let Some(w) = self.workers[slot].as_ref() else { continue };
            if w.phase != Phase::Ready || w.to_worker.is_none() || !w.fifo.is_empty() || w.pending_out() > 0 {
                continue;
            }
            let idle_expired =
                !w.retiring && usable > min && w.idle_due(idle_timeout).is_some_and(|t| now >= t);
            if w.retiring || (closing && queue_len == 0) || idle_expired {
                if !w.retiring {
                    usable -= 1;
                }
                self.close_input(slot);
            }
        }
        let waiting_for_first = self.startup.is_some();
        if waiting_for_first
            || self.closing.is_some_and(|c| c.kill)
            || self.spawn_retry_at.is_some_and(|t| now < t)
        {
            return;
        }
        let limit = self.depth_limit();
        loop {
            let usable = self.usable();
            let starting = self.pending_spawns
                + self.workers.iter().flatten().filter(|w| matches!(w.phase, Phase::Starting { .. })).count();
            let has_room = self.workers.iter().flatten().any(|w| w.takes_work() && w.fifo.len() < limit);
            let want = (usable < min && !closing) || (queue_len > starting && !has_room && usable < max);
            if !want {
                break;
            }
            let before = self.pending_spawns;
            self.request_spawn();
            if self.pending_spawns == before {
                break;
            }
        }
    }

    /// Applies a shutdown request; returns `true` when the driver is done.
    fn on_closing(&mut self, now: Instant) -> bool {
        let Some(c) = self.closing else { return false };
        if c.kill || c.deadline.is_some_and(|d| now >= d) {
            let queued: Vec<Job> = lock(&self.shared.inbox).queue.drain(..).collect();
            if !c.kill && (!queued.is_empty() || self.workers.iter().flatten().any(|w| !w.fifo.is_empty())) {
                self.forced = true;
            }
            self.closing = Some(Closing { kill: true, ..c });
            let mut tally = Tally::new(&self.shared);
            for job in queued {
                settle(job, Err(JobError::ShutDown), &mut tally);
            }
            self.absorb(tally);
            for slot in 0..self.workers.len() {
                if self.workers[slot].is_some() {
                    self.kill_worker(slot, Cause::Shutdown);
                }
            }
            // Tasks re-queued by a worker that died meanwhile.
            let queued: Vec<Job> = lock(&self.shared.inbox).queue.drain(..).collect();
            let mut tally = Tally::new(&self.shared);
            for job in queued {
                settle(job, Err(JobError::ShutDown), &mut tally);
            }
            self.absorb(tally);
            // Workers still being spawned are killed as they arrive, in the next rounds.
            return self.pending_spawns == 0;
        }
        if c.cancel_pending && !self.cancel_pending_done {
            self.cancel_pending_done = true;
            let queued: Vec<Job> = lock(&self.shared.inbox).queue.drain(..).collect();
            let mut tally = Tally::new(&self.shared);
            for job in queued {
                settle(job, Err(JobError::ShutDown), &mut tally);
            }
            self.absorb(tally);
            for w in self.workers.iter_mut().flatten() {
                let seqs: Vec<u64> = w
                    .fifo
                    .iter_mut()
                    .skip(1)
                    .filter(|e| {
                        e.job
                            .ctl
                            .cancel
                            .compare_exchange(
                                CANCEL_NONE,
                                CANCEL_SHUTDOWN,
                                Ordering::AcqRel,
                                Ordering::Acquire,
                            )
                            .is_ok()
                    })
                    .map(|e| {
                        e.cancel_sent = Some(now);
                        e.seq
                    })
                    .collect();
                for seq in seqs {
                    w.push_cancel(seq);
                }
            }
        }
        self.live() == 0 && self.pending_spawns == 0 && lock(&self.shared.inbox).queue.is_empty()
    }

    fn next_deadline(&self) -> Option<Instant> {
        let cfg = &self.shared.config;
        let mut next: Option<Instant> = None;
        let mut at = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        let usable = self.usable();
        for w in self.workers.iter().flatten() {
            match w.phase {
                Phase::Starting { deadline } => at(deadline),
                Phase::Ready if !w.fifo.is_empty() => {
                    if let Some((t, _)) = w.head_due(cfg.task_timeout) {
                        at(t);
                    }
                }
                Phase::Ready if !w.retiring && usable > cfg.min_workers => {
                    if let Some(t) = w.idle_due(cfg.idle_timeout) {
                        at(t);
                    }
                }
                Phase::Ready => {}
            }
        }
        if self.workers.iter().flatten().any(|w| !w.fifo.is_empty()) {
            at(self.last_liveness_check + LIVENESS_CHECK);
        }
        if let Some(c) = self.closing {
            if let Some(d) = c.deadline {
                at(d);
            }
        }
        if let Some(t) = self.spawn_retry_at {
            at(t);
        }
        // (`start_up` runs no `maintain`: it waits for the replacement it requested itself.)
        if self.resize_due && self.startup.is_none() {
            at(Instant::now());
        }
        next
    }

    fn publish_stats(&mut self) {
        let mut s = self.stats.clone();
        s.workers = self.live();
        s.active = self.workers.iter().flatten().filter(|w| !w.fifo.is_empty()).count();
        s.idle = self
            .workers
            .iter()
            .flatten()
            .filter(|w| w.phase == Phase::Ready && w.fifo.is_empty() && !w.retiring)
            .count();
        s.in_flight = self.workers.iter().flatten().map(|w| w.fifo.len()).sum();
        *lock(&self.shared.stats) = s;
    }
}

impl Drop for Driver {
    /// A driver that never ran (its thread could not start) still leaves nothing behind.
    fn drop(&mut self) {
        self.finish();
    }
}

/// Runs a pool's driver: waits on the poller without the lock, runs each round with it, and
/// completes the round's futures after releasing it.
pub(crate) fn run(core: Arc<Mutex<Driver>>) {
    /// Finishes the driver however the loop ends, a panic included, so that workers are reaped and
    /// whoever waits for the shutdown is released.
    struct FinishOnExit<'a>(&'a Mutex<Driver>);
    impl Drop for FinishOnExit<'_> {
        fn drop(&mut self) {
            lock(self.0).finish();
        }
    }
    let _finish = FinishOnExit(&core);
    let shared = lock(&core).shared.clone();
    let mut events = Events::new();
    let mut done = Vec::new();
    loop {
        let deadline = lock(&core).next_deadline();
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        events.clear();
        if let Err(e) = shared.poller.wait(&mut events, timeout) {
            log::error!("tulip: the process pool's poller failed: {e}");
            std::thread::sleep(Duration::from_millis(10));
        }
        let finished = {
            let mut d = lock(&core);
            let finished = d.round(&events);
            std::mem::swap(&mut done, &mut d.done);
            finished
        };
        for job in done.drain(..) {
            job.sink.complete();
        }
        if finished {
            return;
        }
    }
}

/// Reads from a worker (at most `max_reads` reads) and handles every complete frame.
fn read_frames(
    w: &mut Worker,
    token: &[u8; 16],
    now: Instant,
    tally: &mut Tally,
    max_reads: usize,
) -> ReadEnd {
    let mut reads = 0;
    loop {
        if let Some(end) = handle_frames(w, token, now, tally) {
            return end;
        }
        if reads >= max_reads {
            return ReadEnd::Drained;
        }
        reads += 1;
        match w.reader.read_from(&mut w.from_worker) {
            Ok(0) => return ReadEnd::Eof,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadEnd::Drained,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return ReadEnd::Protocol(match w.reader.next_frame() {
                    Err(fe) => fe.to_string(),
                    Ok(_) => e.to_string(),
                })
            }
            Err(_) => return ReadEnd::Eof,
        }
    }
}

/// Handles the complete frames buffered for `w`; `Some` when the worker must go.
fn handle_frames(w: &mut Worker, token: &[u8; 16], now: Instant, tally: &mut Tally) -> Option<ReadEnd> {
    loop {
        let body = match w.reader.next_frame() {
            Ok(Some(body)) => body,
            Ok(None) => return None,
            Err(e) => return Some(ReadEnd::Protocol(e.to_string())),
        };
        let msg = match wire::parse_to_parent(body) {
            Ok(m) => m,
            Err(e) => return Some(ReadEnd::Protocol(e.to_string())),
        };
        match msg {
            ToParent::Ready { token: theirs, pid } => {
                if !matches!(w.phase, Phase::Starting { .. }) {
                    return Some(ReadEnd::Protocol("a second handshake reply".into()));
                }
                if theirs != *token || pid as libc::pid_t != w.pid {
                    return Some(ReadEnd::Refused(
                        "its handshake reply does not carry this pool's token and pid".into(),
                    ));
                }
                w.phase = Phase::Ready;
                w.idle_since = now;
                tally.became_ready = true;
            }
            ToParent::Refused(why) => return Some(ReadEnd::Refused(why.to_string())),
            ToParent::Result { id, exec_ns, status } => {
                if w.phase != Phase::Ready {
                    return Some(ReadEnd::Protocol("a result before the handshake".into()));
                }
                match w.fifo.front() {
                    Some(head) if head.job.id == id => {}
                    Some(head) => {
                        return Some(ReadEnd::Protocol(format!(
                            "a result for task {id} while task {} runs",
                            head.job.id
                        )))
                    }
                    None => {
                        return Some(ReadEnd::Protocol(format!(
                            "a result for task {id}, which it does not have"
                        )))
                    }
                }
                let entry = w.fifo.pop_front()?;
                w.head_since = None;
                let outcome: Result<&[u8], JobError> = match status {
                    Status::Value(bytes) => Ok(bytes),
                    Status::Panicked(m) => Err(JobError::Panicked(m.to_string())),
                    Status::Codec(m) => Err(JobError::Codec(m.to_string())),
                    Status::Skipped => Err(match entry.job.ctl.cancel.load(Ordering::Acquire) {
                        CANCEL_SHUTDOWN => JobError::ShutDown,
                        _ => JobError::Cancelled,
                    }),
                    Status::Rejected(m) => {
                        Err(JobError::Codec(format!("the worker refused the function: {m}")))
                    }
                };
                if !matches!(status, Status::Skipped) {
                    tally.exec_ns.push(exec_ns);
                }
                settle(entry.job, outcome, tally);
                if w.fifo.is_empty() {
                    w.idle_since = now;
                } else if let Some(wait) = w.update_head(now) {
                    tally.queue_wait(wait);
                }
            }
        }
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("workers", &self.live()).finish()
    }
}
