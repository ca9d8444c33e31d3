//! The driver: the one thread per pool that starts workers, writes their tasks, reads their results,
//! enforces timeouts and cancellations, and reaps them.
//!
//! # Implementation
//!
//! Each round of the loop waits on the pool's poller (`crate::poller`: worker pipes, plus
//! `notify()` from `submit`, cancellers and shutdown), then, in this order: reads every readable
//! worker and settles the results; applies cancellations; stops tasks that ran out of time or were
//! cancelled while running; asks for tasks sent behind a long head back; dispatches queued tasks;
//! writes what each worker has pending in one `write` per worker; starts or retires workers;
//! publishes statistics.
//!
//! Take-back: a worker is sent tasks ahead of the one it runs (up to about 2 ms of work, see
//! `dispatch`). Once its head has run past that budget it is sent nothing more, and if another
//! worker can take work or the pool can start one, the driver asks it, through its status page,
//! for the tasks it holds but has not started (`dispatch::take_back`). The worker answers with a `TakenBack` frame naming those
//! it will never start (see `worker` for how it decides, exactly, while the head runs); they leave
//! its fifo and go back to the front of the queue in their order, to be dispatched like any queued
//! task, not counted as cancelled (those the user cancelled meanwhile end `Cancelled`, see
//! `fate::of_unstarted`). Workers without a status page (remote ones) are not asked.
//!
//! One concern per module:
//!
//! - `link`: one worker's pipes, buffers, framing, and its queue of sent tasks (the seam for other
//!   transports);
//! - `supervisor`: starting workers and their handshake, liveness, killing and reaping;
//! - `remote`: a remote worker's nanny: `Kill` over the link, `Gone`, silent links;
//! - `fate`: what becomes of a dead worker's tasks, and of those a live one hands back (pure functions);
//! - `hosts`: which launcher target the next worker goes to, and hosts set aside;
//! - `dispatch`: the direct path from `submit`, the queue, pipelining depth, take-back, cancellations;
//! - `help`: a thread waiting for a task sent straight to a remote worker reads its link itself;
//! - `deadlines`: cancel grace, task timeout, idle timeout, and the next wake-up;
//! - `sizing`: growing and retiring workers;
//! - `shutdown`: shutdown requests and the driver's end.
//!
//! Workers are started by one process-wide spawner thread, so the wait for a child's `exec` never
//! stalls a driver; that thread lives as long as the process, because on Linux the parent-death
//! signal fires when the *thread* that spawned the child exits.

mod deadlines;
mod dispatch;
mod fate;
#[cfg(waiter_help)]
mod help;
mod hosts;
mod link;
mod remote;
mod shutdown;
mod sizing;
mod supervisor;

pub(crate) use dispatch::Direct;
#[cfg(waiter_help)]
pub(crate) use help::{DirectWait, LinkWatch};

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::lock;
use super::spawn;
use super::wire;
use super::{Job, Shared, CANCEL_USER};
use crate::error::{BuildError, JobError};
use crate::poller::Events;
use crate::pool::{PoolStats, ShutdownReport};

use fate::Cause;
use link::{read_frames, ReadEnd, Worker, READS_PER_ROUND};

/// What happened while a worker was borrowed, applied to the driver afterwards.
struct Tally {
    /// The pool's shared state, for its counters.
    shared: Arc<Shared>,
    /// Execution times reported by workers, for the pipelining depth.
    exec_ns: Vec<u64>,
    /// A worker passed its handshake.
    became_ready: bool,
    /// Jobs whose outcome is decided; their futures are completed once the driver's lock is released.
    done: Vec<Job>,
    /// The initializer failed in a worker, with this error: the pool is broken.
    broken: Option<String>,
    /// Tasks a worker handed back unstarted, in its order (see `dispatch::take_back`).
    taken_back: Vec<Job>,
    /// Tasks that ended (see [`Ended`]).
    ended: Ended,
}

/// Tasks that ended with a value, with another error, and cancelled or shut down, not yet in the
/// pool's counters: they are added when the round's gauges are published, under the same lock, so
/// that a `stats()` snapshot holds each task once (never ended and still running).
type Ended = [u64; 3];

impl Tally {
    fn new(shared: &Arc<Shared>) -> Self {
        Tally {
            shared: shared.clone(),
            exec_ns: Vec::new(),
            became_ready: false,
            done: Vec::new(),
            broken: None,
            taken_back: Vec::new(),
            ended: [0; 3],
        }
    }

    fn queue_wait(&self, d: Duration) {
        let ns = d.as_nanos().min(u64::MAX as u128) as u64;
        self.shared.counters.queue_wait_ns.fetch_add(ns, Ordering::Relaxed);
        self.shared.counters.queue_wait_max_ns.fetch_max(ns, Ordering::Relaxed);
    }
}

/// Decides a job's outcome: a user's cancel wins over whatever else happened, since `cancel()` said
/// so. The result's bytes are copied out of the read buffer; they are decoded and the future is
/// completed later, outside the driver's lock (see [`deliver`]), so that code woken by it can
/// submit straight to a worker and a slow decode holds nobody up.
///
/// The job is counted when the round's statistics are published, before its future completes, so
/// whoever sees the result sees it counted.
fn settle(mut job: Job, outcome: Result<&[u8], JobError>, tally: &mut Tally) {
    let outcome = match job.ctl.cancel.load(Ordering::Acquire) {
        CANCEL_USER => Err(JobError::Cancelled),
        _ => outcome,
    };
    let kind = match &outcome {
        Ok(_) => 0,
        Err(JobError::Cancelled | JobError::ShutDown) => 2,
        Err(_) => 1,
    };
    tally.ended[kind] += 1;
    job.sink.resolve(outcome);
    tally.done.push(job);
}

/// The driver's state: the workers and everything about starting, feeding and stopping them. Behind
/// a mutex that the driver thread holds for a round and `submit` only try-locks (the direct path).
pub(crate) struct Driver {
    shared: Arc<Shared>,
    /// The pool's secret, which every worker's handshake reply must carry.
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
    startup: Option<crossbeam_channel::Sender<Result<(), BuildError>>>,
    /// What a shutdown deadline cut short: queued tasks failed, running ones killed.
    report: ShutdownReport,
    /// Moving average of task execution time in ns (0 = no sample yet).
    ewma_ns: f64,
    /// Tasks that ended since the statistics were last published (see [`Ended`]).
    ended: Ended,
    /// Workers that could not start (or failed their handshake) since one last passed it.
    spawn_failures: u32,
    /// New workers killed by `SIGKILL` during their handshake since one last passed it.
    startup_kills: u32,
    /// No new worker is started before this (backoff after failures and startup kills).
    spawn_retry_at: Option<Instant>,
    /// The value of the worker marker variable (see [`spawn::ENV`]).
    env_value: String,
    /// Where the spawner thread (`supervisor::spawner`) sends this pool's new workers.
    spawned_tx: crossbeam_channel::Sender<supervisor::SpawnReply>,
    spawned_rx: crossbeam_channel::Receiver<supervisor::SpawnReply>,
    /// Spawns requested whose result has not been taken yet.
    pending_spawns: usize,
    /// The launcher targets (`config.targets`): a new worker goes to the least loaded one, so a
    /// host that lost a worker gets the replacement; hosts that keep failing are set aside.
    hosts: hosts::Hosts,
    /// A worker was removed since `maintain` last ran: the next round must come at once, or a
    /// worker found dead by the writes at the end of a round (after `maintain`) would leave the pool
    /// short, with nothing left to wake the driver.
    resize_due: bool,
    /// When busy workers were last checked with `waitpid` (see `deadlines::LIVENESS_CHECK`).
    last_liveness_check: Instant,
    /// When `submit` last sent a task straight to a worker: the driver learns of such a task only
    /// from its result, so the liveness check goes on for a while after.
    last_direct: Option<Instant>,
    /// The wake-up the driver sleeps until includes the liveness check; if not, a task sent
    /// straight to a worker wakes the driver, or a worker dying silently would go unnoticed.
    ticking: bool,
    /// The wake-up the driver thread last went to sleep until (`None`: none): a round run by a
    /// waiter (see `help`) that needs an earlier one notifies the driver.
    asleep_until: Option<Instant>,
    /// Threads decoding large results now (see [`deliver`]).
    decoders: Arc<AtomicUsize>,
}

impl Driver {
    /// A driver whose first workers are already being started.
    pub(crate) fn new(
        shared: Arc<Shared>,
        token: [u8; 16],
        startup: crossbeam_channel::Sender<Result<(), BuildError>>,
    ) -> io::Result<Driver> {
        let mut hello = Vec::new();
        let (max_frame, init_off) = (shared.config.max_frame_size as u32, shared.config.init_off);
        wire::encode_hello(&mut hello, &token, &spawn::fingerprint(), max_frame, init_off);
        let (spawned_tx, spawned_rx) = crossbeam_channel::unbounded();
        let hosts = hosts::Hosts::new(&shared.config.targets, &shared.config.launcher);
        let mut d = Driver {
            token,
            hello,
            shared,
            workers: Vec::new(),
            done: Vec::new(),
            finished: false,
            startup: Some(startup),
            report: ShutdownReport::default(),
            ewma_ns: 0.0,
            ended: [0; 3],
            spawn_failures: 0,
            startup_kills: 0,
            spawn_retry_at: None,
            env_value: super::worker::env_value(&token),
            spawned_tx,
            spawned_rx,
            pending_spawns: 0,
            hosts,
            resize_due: false,
            last_liveness_check: Instant::now(),
            last_direct: None,
            ticking: false,
            asleep_until: None,
            decoders: Arc::new(AtomicUsize::new(0)),
        };
        d.start_first_workers()?;
        Ok(d)
    }

    /// Runs rounds until the first worker has passed its handshake or failed (the answer goes to
    /// the `startup` channel). Called by `build`, on its own thread, before the driver thread exists.
    pub(crate) fn start_up(&mut self) {
        let mut events = Events::new();
        while self.startup.is_some() {
            let timeout = self.sleep_until().map(|d| d.saturating_duration_since(Instant::now()));
            events.clear();
            if let Err(e) = self.shared.poller.wait(&mut events, timeout) {
                log::error!("tulip: the process pool's poller failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
            let now = Instant::now();
            self.take_spawned(now);
            let keys: Vec<usize> = events.iter().map(|e| e.key).collect();
            self.on_events(&keys, now);
            self.check_startups(Instant::now());
            self.flush_all(Instant::now());
        }
        self.publish_stats();
    }

    /// One round, after the poller woke for `keys`: everything but the wait. Returns `true` when
    /// the driver is done.
    fn round(&mut self, keys: &[usize]) -> bool {
        let cancels = std::mem::take(&mut lock(&self.shared.inbox).cancels);
        let now = Instant::now();
        self.take_spawned(now);
        self.on_events(keys, now);
        self.apply_cancels(cancels, now);
        self.check_heads(Instant::now());
        self.check_startups(Instant::now());
        self.check_liveness(Instant::now());
        let closing = self.on_closing(Instant::now());
        if !closing {
            self.take_back(Instant::now());
            self.dispatch();
            self.maintain(Instant::now());
            self.flush_all(Instant::now());
        }
        // Before the round's futures complete: their tasks are counted by then.
        self.publish_stats();
        closing
    }

    fn live(&self) -> usize {
        self.workers.iter().flatten().count()
    }

    fn absorb(&mut self, mut t: Tally) {
        if !t.taken_back.is_empty() {
            let fate = fate::of_unstarted(std::mem::take(&mut t.taken_back));
            for (job, err) in fate.failed {
                settle(job, Err(err), &mut t);
            }
            self.requeue_front(fate.requeued);
        }
        self.done.append(&mut t.done);
        for (mine, theirs) in self.ended.iter_mut().zip(t.ended) {
            *mine += theirs;
        }
        for ns in t.exec_ns {
            self.ewma_ns = if self.ewma_ns <= 0.0 { ns as f64 } else { 0.8 * self.ewma_ns + 0.2 * ns as f64 };
        }
        if let Some(msg) = t.broken {
            self.break_pool(msg);
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

    /// Reads or writes each worker the poller found ready (`keys`, see [`Driver::workers`]).
    fn on_events(&mut self, keys: &[usize], now: Instant) {
        for &key in keys {
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
        let (starting, target) = (w.phase != link::Phase::Ready, w.target);
        let mut tally = Tally::new(&self.shared);
        let end = read_frames(w, &self.token, now, &mut tally, READS_PER_ROUND);
        if starting && w.phase == link::Phase::Ready {
            self.hosts.ready(target);
        }
        self.absorb(tally);
        self.after_read(slot, end);
    }

    /// Acts on how reading worker `slot` ended: removes it if its stream ended or broke the protocol.
    fn after_read(&mut self, slot: usize, end: ReadEnd) {
        match end {
            ReadEnd::Drained => {}
            ReadEnd::Eof => self.on_eof(slot),
            ReadEnd::Protocol(msg) => self.kill_worker(slot, Cause::Protocol(msg)),
            ReadEnd::Refused(msg) => self.kill_worker(slot, Cause::Refused(msg)),
            ReadEnd::Gone { status, started, why } => self.on_gone(slot, status, started, &why),
        }
    }

    /// Tasks sent to workers that have started (the heads), and those that have not.
    fn sent(&self) -> (usize, usize) {
        let workers = self.workers.iter().flatten();
        let running =
            workers.clone().filter(|w| w.fifo.front().is_some_and(|h| w.has_started(h.seq))).count();
        (running, workers.map(|w| w.fifo.len()).sum::<usize>() - running)
    }

    /// Publishes the gauges for `stats()` and counts the tasks that ended, in one critical section
    /// (see [`Ended`]), and lets submitters waiting for queue room look again.
    fn publish_stats(&mut self) {
        let (started, waiting) = self.sent();
        let idle = self.workers.iter().flatten().filter(|w| w.takes_work() && w.fifo.is_empty()).count();
        // `stats()` adds the counters and the tasks queued since.
        let mut s = PoolStats {
            workers: self.live(),
            idle,
            running: started + waiting,
            hosts_set_aside: self.hosts.aside_count(),
            ..PoolStats::default()
        };
        let mut published = lock(&self.shared.stats);
        {
            let mut inbox = lock(&self.shared.inbox);
            s.queued = inbox.queue.len();
            inbox.pushed = 0;
        }
        let c = &self.shared.counters;
        for (counter, n) in [&c.completed, &c.failed, &c.cancelled].into_iter().zip(self.ended) {
            counter.fetch_add(n, Ordering::Release);
        }
        self.ended = [0; 3];
        *published = s;
        drop(published);
        if self.shared.config.queue_capacity.is_some() {
            self.shared.wake_submitters();
        }
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
    let (mut keys, mut done) = (Vec::new(), Vec::new());
    let decoders = lock(&core).decoders.clone();
    loop {
        let deadline = lock(&core).sleep_until();
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        events.clear();
        if let Err(e) = shared.poller.wait(&mut events, timeout) {
            log::error!("tulip: the process pool's poller failed: {e}");
            std::thread::sleep(Duration::from_millis(10));
        }
        keys.clear();
        keys.extend(events.iter().map(|e| e.key));
        let finished = {
            let mut d = lock(&core);
            let finished = d.round(&keys);
            std::mem::swap(&mut done, &mut d.done);
            finished
        };
        #[cfg(feature = "tracing")]
        super::trace::flush();
        for job in done.drain(..) {
            deliver(job, &decoders);
        }
        if finished {
            return;
        }
    }
}

/// Results at least this large are decoded off the driver thread.
const OFF_THREAD_DECODE: usize = 256 << 10;

/// Completes a settled job's future, outside the driver's lock: small results here, large ones on
/// a thread of their own (at most one per CPU at a time), so that their decode (and the future's
/// done-callbacks) never hold up the driver's next round.
fn deliver(job: Job, decoders: &Arc<AtomicUsize>) {
    let claim = |n: usize| (n < super::cpus()).then_some(n + 1);
    if job.sink.encoded_len() < OFF_THREAD_DECODE
        || decoders.fetch_update(Ordering::AcqRel, Ordering::Acquire, claim).is_err()
    {
        return job.sink.complete();
    }
    // Taken by the thread, or back here if it cannot start.
    let slot = Arc::new(Mutex::new(Some(job)));
    let (theirs, count) = (slot.clone(), decoders.clone());
    let spawned = std::thread::Builder::new().name("tulip-process-decode".into()).spawn(move || {
        if let Some(job) = lock(&theirs).take() {
            job.sink.complete();
        }
        count.fetch_sub(1, Ordering::AcqRel);
    });
    if spawned.is_err() {
        decoders.fetch_sub(1, Ordering::AcqRel);
        if let Some(job) = lock(&slot).take() {
            job.sink.complete();
        }
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("workers", &self.live()).finish()
    }
}
