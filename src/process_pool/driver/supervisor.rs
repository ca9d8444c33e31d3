//! The supervisor: starting workers (through the process-wide spawner thread) and the outcome of
//! their handshake; liveness; killing and reaping; removing a dead worker.

use std::collections::VecDeque;
use std::ffi::c_int;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::super::child::{self, Child, Waited};
use super::super::launcher::{self, Target};
use super::super::spawn;
use super::super::wire::FrameReader;
use super::super::{lock, Shared, HANDSHAKE_TIMEOUT};
use super::fate::{self, Cause};
use super::hosts::NoHost;
use super::link::{read_frames, InFlight, Phase, Worker};
use super::{settle, Driver, Tally};
use crate::error::{BuildError, JobError};
use crate::poller::{Event, PollMode};

/// How long the driver waits for a `SIGSTOP` to take effect before it kills without a snapshot.
const STOP_WAIT: Duration = Duration::from_millis(100);

/// How long a worker whose pipe closed may take to exit before it is killed.
const EXIT_WAIT: Duration = Duration::from_millis(50);

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

/// Kills a worker (`SIGKILL`) and reaps it; its exit status, if it could be collected. The one place
/// a worker is killed for good.
pub(super) fn kill_and_reap(child: &mut Child) -> Option<c_int> {
    child.kill();
    child.wait()
}

/// How long a remote worker's launcher (`ssh`, `srun`) gets to end after `SIGTERM` before it is
/// killed: `srun` ends its job step on `SIGTERM`, whereas a `srun` killed outright can leave the
/// step (and the nanny in it) running; `ssh` just closes the connection.
const LAUNCHER_TERM_WAIT: Duration = Duration::from_millis(200);

/// Ends a worker and reaps it, as [`kill_and_reap`]; a remote worker's launcher (`remote`) is
/// asked with `SIGTERM` first (and continued, should the pool have stopped it), and killed only if
/// it is still there after [`LAUNCHER_TERM_WAIT`].
pub(super) fn end_and_reap(child: &mut Child, remote: bool) -> Option<c_int> {
    if remote && child.terminate() {
        let asked = Instant::now();
        while asked.elapsed() < LAUNCHER_TERM_WAIT {
            match child.try_wait(false) {
                Waited::Gone(status) => return Some(status),
                Waited::Unknown => return None,
                Waited::Running | Waited::Stopped => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }
    kill_and_reap(child)
}

/// A started worker (or why not), with the index of its launcher target.
pub(super) type SpawnReply = (usize, io::Result<spawn::Spawned>);

/// A request to the process-wide spawner thread.
struct SpawnRequest {
    env_value: String,
    /// Where to start it, and that target's index (sent back with the worker).
    target: (usize, Target),
    reply: crossbeam_channel::Sender<SpawnReply>,
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
            let r = launcher::start(&req.target.1, &req.env_value);
            if let Err(crossbeam_channel::SendError((_, Ok(mut orphan)))) = req.reply.send((req.target.0, r))
            {
                // Its pool is gone: nobody else will kill and reap it.
                end_and_reap(&mut orphan.child, orphan.host.is_some());
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
    /// Starts the pool's first workers (`min_workers`, at least one).
    pub(super) fn start_first_workers(&mut self) -> io::Result<()> {
        let requests = spawner()?;
        let mut wanted = self.shared.config.min_workers.max(1);
        // On the main thread the first worker is spawned right here, one hand-off less before its
        // handshake. The parent-death signal is tied to the spawning thread, and the main thread
        // lives as long as the process, like the spawner threaself.
        let here = on_main_thread();
        if here {
            wanted -= 1;
        }
        for _ in 0..wanted {
            self.request_spawn_with(&requests);
        }
        if let Some((index, target)) = here.then(|| self.next_target()).flatten() {
            let first = launcher::start(&target, &self.env_value);
            self.register((index, first), Instant::now());
        }
        Ok(())
    }

    /// Asks the spawner thread for one more worker.
    pub(super) fn request_spawn(&mut self) {
        match spawner() {
            Ok(requests) => self.request_spawn_with(&requests),
            Err(e) => self.start_failed(Instant::now(), None, BuildError::Spawn(e.to_string())),
        }
    }

    /// Where the next worker starts (see [`Hosts::pick`](super::hosts::Hosts::pick)); `None` when
    /// no host takes one now. With every host set aside, the queued tasks fail: they can run nowhere.
    fn next_target(&mut self) -> Option<(usize, Target)> {
        let now = Instant::now();
        match self.hosts.pick(now) {
            Ok(i) => Some((i, self.shared.config.targets.get(i).cloned().unwrap_or(Target::Local))),
            Err(NoHost::Full) => None,
            Err(NoHost::Nowhere) => {
                if self.live() == 0 {
                    self.fail_queued(JobError::Spawn(self.hosts.nowhere(now)));
                }
                None
            }
        }
    }

    fn request_spawn_with(&mut self, requests: &crossbeam_channel::Sender<SpawnRequest>) {
        let Some(target) = self.next_target() else { return };
        let req = SpawnRequest {
            env_value: self.env_value.clone(),
            target,
            reply: self.spawned_tx.clone(),
            wake: Arc::downgrade(&self.shared),
        };
        match requests.send(req) {
            Ok(()) => self.pending_spawns += 1,
            Err(crossbeam_channel::SendError(req)) => {
                self.hosts.unload(req.target.0);
                let err = BuildError::Spawn("the spawner thread is gone".into());
                self.start_failed(Instant::now(), None, err)
            }
        }
    }

    /// Takes the workers the spawner has started since the last round.
    pub(super) fn take_spawned(&mut self, now: Instant) {
        loop {
            let Ok(r) = self.spawned_rx.try_recv() else { return };
            self.pending_spawns -= 1;
            self.register(r, now);
        }
    }

    /// Adds a started worker (or handles why it could not start).
    pub(super) fn register(&mut self, (index, spawned): SpawnReply, now: Instant) {
        let mut s = match spawned {
            Ok(s) => s,
            Err(e) => {
                self.hosts.unload(index);
                return self.start_failed(now, Some(index), BuildError::Spawn(e.to_string()));
            }
        };
        let slot = match self.workers.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.workers.push(None);
                self.workers.len() - 1
            }
        };
        #[cfg_attr(not(waiter_help), allow(unused_variables, clippy::let_unit_value))]
        let watch = match self.poll_links(slot, &s) {
            Ok(watch) => watch,
            Err(e) => {
                self.hosts.unload(index);
                kill_and_reap(&mut s.child);
                return self.start_failed(now, Some(index), BuildError::Spawn(e.to_string()));
            }
        };
        self.shared.counters.workers_started.fetch_add(1, Ordering::Release);
        self.workers[slot] = Some(Worker {
            child: s.child,
            host: s.host,
            target: index,
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
            taking_back: None,
            tasks_sent: 0,
            idle_since: now,
            killing: None,
            heard: now,
            #[cfg(waiter_help)]
            watch,
            #[cfg(waiter_help)]
            lent: 0,
        });
        self.flush(slot, now);
    }

    /// Registers a new worker's pipes with the poller under keys `2 * slot` (read end) and
    /// `2 * slot + 1` (write end); for a remote worker, also gives waiters a watch on its link (see
    /// `help`).
    #[cfg(waiter_help)]
    fn poll_links(&self, slot: usize, s: &spawn::Spawned) -> io::Result<Option<Arc<super::LinkWatch>>> {
        let watch = s.host.as_ref().map(|_| super::LinkWatch::new(slot, &s.from_worker)).transpose()?;
        self.add_to_poller(slot, s)?;
        Ok(watch)
    }

    #[cfg(not(waiter_help))]
    fn poll_links(&self, slot: usize, s: &spawn::Spawned) -> io::Result<()> {
        self.add_to_poller(slot, s)
    }

    fn add_to_poller(&self, slot: usize, s: &spawn::Spawned) -> io::Result<()> {
        let poller = &self.shared.poller;
        // SAFETY: both fds are deleted from the poller before their `File`s are dropped (`remove`,
        // `close_input`).
        unsafe {
            poller.add_with_mode(&s.from_worker, Event::readable(2 * slot), PollMode::Level)?;
            poller.add(&s.to_worker, Event::none(2 * slot + 1)).inspect_err(|_| {
                let _ = poller.delete(&s.from_worker);
            })
        }
    }

    /// A worker could not be started or failed its handshake, at launcher target `target` (`None`:
    /// not a host's fault). While `build` waits, a host set aside for it makes way for the others;
    /// `build` fails when none is left.
    pub(super) fn start_failed(&mut self, now: Instant, target: Option<usize>, err: BuildError) {
        self.spawn_failures += 1;
        let backoff = Duration::from_millis(50) * (1 << self.spawn_failures.min(6));
        self.spawn_retry_at = Some(now + backoff);
        let why = err.to_string();
        let set_aside = target.is_some_and(|i| self.hosts.failed(i, now, &why, self.startup.is_some()));
        if self.startup.is_some() {
            if set_aside && self.hosts.any_usable() {
                if self.usable() < self.shared.config.min_workers.max(1) {
                    self.request_spawn();
                }
                return;
            }
            let err = match err {
                _ if !self.hosts.several() => err,
                BuildError::Handshake(m) => {
                    BuildError::Handshake(format!("{m}; {}", self.hosts.nowhere(now)))
                }
                other => BuildError::Spawn(format!("{other}; {}", self.hosts.nowhere(now))),
            };
            if let Some(tx) = self.startup.take() {
                let _ = tx.send(Err(err));
            }
            return;
        }
        log::error!("tulip: could not start a process-pool worker: {err}");
        if !self.hosts.any_usable() && self.live() == 0 {
            self.fail_queued(JobError::Spawn(self.hosts.nowhere(now)));
        } else if self.spawn_failures >= SPAWN_FAILURES_BEFORE_GIVING_UP && self.usable() == 0 {
            self.fail_queued(JobError::WorkerDied(format!("no worker process could be started: {err}")));
        }
    }

    /// A worker died before it passed its handshake: says why, as precisely as the exit status
    /// allows, and decides whether that counts as a failure to start.
    pub(super) fn start_ended(
        &mut self,
        now: Instant,
        target: usize,
        status: Option<c_int>,
        how: &str,
        cause: &Cause,
    ) {
        let signal = status.and_then(child::term_signal);
        let why = match cause {
            // The pool's own shutdown: nothing failed.
            Cause::Shutdown => return,
            // A `SIGKILL` that the pool did not send comes from outside, and says nothing about the
            // program: replace the worker (in `build`, a few dozen times in a row before giving up).
            Cause::Ended
                if signal == Some(child::SIGKILL)
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
            _ if signal == Some(child::SIGKILL) => {
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
        self.start_failed(now, Some(target), BuildError::Handshake(why));
    }

    /// Reaps busy workers that died without their pipe closing (a child they forked holds it).
    pub(super) fn check_liveness(&mut self, now: Instant) {
        if self.liveness_due(now).is_none_or(|t| now < t) {
            return;
        }
        self.last_liveness_check = now;
        for slot in 0..self.workers.len() {
            let Some(w) = self.workers[slot].as_mut().filter(|w| !w.fifo.is_empty()) else { continue };
            if let Waited::Gone(status) = w.child.try_wait(false) {
                self.remove(slot, Some(status), Cause::Ended);
            }
        }
    }

    /// Ends workers late with their handshake, and remote links that went quiet (see `remote`).
    pub(super) fn check_startups(&mut self, now: Instant) {
        self.check_remote(now);
        for slot in 0..self.workers.len() {
            let late = matches!(&self.workers[slot], Some(w) if matches!(w.phase, Phase::Starting { deadline } if now >= deadline));
            if late {
                self.kill_worker(slot, Cause::HandshakeTimeout);
            }
        }
    }

    /// The worker's output closed: collect its exit status (killing it if it lingers) and remove it.
    pub(super) fn on_eof(&mut self, slot: usize) {
        let Some(w) = self.workers[slot].as_mut() else { return };
        let started = Instant::now();
        let mut spins = 0u32;
        let (status, cause) = loop {
            match w.child.try_wait(false) {
                Waited::Gone(status) => break (Some(status), Cause::Ended),
                Waited::Unknown => break (None, Cause::Ended),
                Waited::Running | Waited::Stopped if started.elapsed() >= EXIT_WAIT => {
                    // It closed its pipe but lives on: it cannot be talked to any more.
                    break (end_and_reap(&mut w.child, w.host.is_some()), Cause::Lingered);
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
    pub(super) fn kill_worker(&mut self, slot: usize, cause: Cause) {
        let Some(w) = self.workers[slot].as_mut() else { return };
        let status = end_and_reap(&mut w.child, w.host.is_some());
        self.remove(slot, status, cause);
    }

    /// Freezes the worker, reads what it already wrote, and kills it only if the victim is still the
    /// task it runs; otherwise lets it go on.
    pub(super) fn stop_and_kill(&mut self, slot: usize, cause: Cause) {
        let victim = match cause {
            Cause::Cancel(id) | Cause::Timeout(id, _) => id,
            _ => return self.kill_worker(slot, cause),
        };
        let Some(w) = self.workers[slot].as_mut() else { return };
        if w.host.is_some() {
            return self.stop_remote(slot, victim, cause);
        }
        match w.child.freeze(STOP_WAIT) {
            None => return self.on_eof(slot),
            Some(Waited::Gone(status)) => return self.remove(slot, Some(status), Cause::Ended),
            Some(_) => {}
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
        if let Some(w) = self.workers[slot].as_mut() {
            w.child.thaw();
        }
        self.after_read(slot, end);
    }

    /// Removes a dead (reaped) worker: reads the results it wrote before dying, fails the task it was
    /// running, and sends the tasks it never started back to the queue.
    pub(super) fn remove(&mut self, slot: usize, status: Option<c_int>, cause: Cause) {
        let Some(mut w) = self.workers[slot].take() else { return };
        self.resize_due = true;
        self.hosts.unload(w.target);
        let poller = &self.shared.poller;
        let _ = poller.delete(&w.from_worker);
        if let Some(f) = w.to_worker.take() {
            let _ = poller.delete(&f);
        }
        let now = Instant::now();
        let mut tally = Tally::new(&self.shared);
        // The worker is gone: whatever it wrote is in the pipe now. Frames after a bad one are lost.
        let _ = read_frames(&mut w, &self.token, now, &mut tally, usize::MAX);
        let mut how = match status {
            Some(s) => child::describe_status(s),
            None => "vanished (its exit status was collected elsewhere)".to_string(),
        };
        if let (Some(host), Cause::Silent(d)) = (&w.host, &cause) {
            how = format!(
                "on {host}: its link carried nothing, not even a heartbeat, for {d:?} (the host, \
                 the link or the nanny hangs)"
            );
        } else if let Some(host) = &w.host {
            how = remote_how(host, status, how);
        }
        // A status reaped by someone else is lost: a worker the pool was retiring is taken to have retired.
        let graceful = matches!(cause, Cause::Ended)
            && w.fifo.is_empty()
            && status.map_or(w.retiring, |s| child::exit_code(s) == Some(0));
        let killed_by_pool = matches!(
            cause,
            Cause::Cancel(_) | Cause::Timeout(..) | Cause::Shutdown | Cause::HandshakeTimeout
        );
        if !graceful && !killed_by_pool {
            self.shared.counters.worker_deaths.fetch_add(1, Ordering::Release);
            if !matches!(cause, Cause::Refused(_)) && w.phase == Phase::Ready {
                log::warn!("tulip: process-pool worker {} {how}", w.child.pid());
            }
        }

        if let Phase::Starting { .. } = w.phase {
            self.start_ended(now, w.target, status, &how, &cause);
        }

        let fifo = std::mem::take(&mut w.fifo);
        let head_started = fifo.front().is_some_and(|h| w.has_started(h.seq));
        self.settle_fifo(fifo, head_started, &cause, &how, tally);
    }

    /// Ends or re-queues the tasks a dead worker held (see [`fate::of_tasks`]).
    pub(super) fn settle_fifo(
        &mut self,
        fifo: VecDeque<InFlight>,
        head_started: bool,
        cause: &Cause,
        how: &str,
        mut tally: Tally,
    ) {
        let fate = fate::of_tasks(fifo.into_iter().map(|e| e.job), head_started, cause, how);
        for (job, err) in fate.failed {
            settle(job, Err(err), &mut tally);
        }
        self.requeue_front(fate.requeued);
        self.absorb(tally);
    }
}

/// How a remote worker went, from its launcher's exit `status` (`how` says it as for a local one):
/// its host named, and a lost link told apart from a worker that died there.
fn remote_how(host: &str, status: Option<c_int>, how: String) -> String {
    let code = status.and_then(child::exit_code);
    match code {
        // The nanny's status for a worker killed there: 128 + the signal (see `nanny::serve`).
        Some(c @ 129..=192) => format!("on {host}: the worker {}", child::describe_status(c - 128)),
        Some(255) => format!(
            "lost its link to {host} (the launcher exited with status 255: the host is down, \
             unreachable, or the connection dropped)"
        ),
        _ => format!(
            "on {host}: the worker's link ended, its launcher {how} (the worker's stderr, prefixed \
             with [{host}], says more)"
        ),
    }
}
