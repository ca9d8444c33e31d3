//! The link to one worker: its pipes, the bytes queued for it, the frames it sends back, and the
//! tasks it holds in order (its queue and head).
//!
//! This is the seam other transports (remote workers) go behind: the driver asks a link whether it
//! takes work, queues tasks and cancels on it, flushes it, and reads its frames through it; beyond
//! that it only registers the link's pipes with its poller.
//!
//! Per worker the link keeps the tasks sent to it in order (`fifo`). Results must come back in that
//! order (a worker runs its tasks one after the other and writes each result before starting the
//! next), so a result that does not match the head of the fifo is a protocol violation; the one
//! exception is a `TakenBack` frame, asked for, which takes unstarted tasks out of it. The head is
//! the task that runs (or is about to); `head_since` is when it started, as seen from here: when the
//! previous result arrived, or when the head's frame was completely written if the worker was idle.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::channel::{WorkerInput, WorkerOutput};
use super::super::child::Child;
use super::super::spawn::StatusPage;
use super::super::wire::{self, FrameReader, Status, ToParent};
use super::super::Job;
use super::{settle, Tally};
use crate::error::JobError;

/// Most unwritten bytes queued for one worker; dispatch stops there until the pipe drains.
pub(super) const OUT_HIGH_WATER: usize = 1 << 20;

/// Reads per readable worker per round, so one chatty worker cannot starve the others.
pub(super) const READS_PER_ROUND: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Spawned, handshake not answered yet.
    Starting { deadline: Instant },
    /// Handshake passed: takes tasks.
    Ready,
}

/// A task sent to a worker.
pub(super) struct InFlight {
    pub(super) job: Job,
    /// The task's position in this worker's arrival order (what a `Cancel` frame names).
    pub(super) seq: u64,
    /// Cumulative byte offset, in this worker's input stream, of the end of the task's frame.
    pub(super) end: u64,
    /// When a `Cancel` frame was queued for it.
    pub(super) cancel_sent: Option<Instant>,
}

pub(super) struct Worker {
    /// The local child, or for a remote worker the launcher process (`ssh`, `srun`) that carries
    /// its link: killing it ends the link, and the worker on the other side ends.
    pub(super) child: Child,
    /// The host (or launcher command) of a remote worker, named in its errors; `None`: local.
    pub(super) host: Option<Arc<str>>,
    /// Its launcher target's index in `config.targets`.
    pub(super) target: usize,
    /// Which task the worker has started, exactly (Linux); `None` where there is no shared page.
    pub(super) page: Option<StatusPage>,
    /// `None` once closed: the worker finishes what it has, then exits.
    pub(super) to_worker: Option<WorkerInput>,
    pub(super) from_worker: WorkerOutput,
    pub(super) phase: Phase,
    /// Takes no new tasks (recycled, pruned, or the pool is closing); exits when its fifo is empty.
    pub(super) retiring: bool,
    pub(super) reader: FrameReader,
    /// Bytes queued for the worker; `out[out_pos..]` is not written yet.
    pub(super) out: Vec<u8>,
    pub(super) out_pos: usize,
    /// Cumulative bytes queued into / written from `out`.
    pub(super) queued_bytes: u64,
    pub(super) written_bytes: u64,
    /// Writable interest is armed (a write would have blocked).
    pub(super) write_armed: bool,
    pub(super) fifo: VecDeque<InFlight>,
    pub(super) next_seq: u64,
    /// When the head of `fifo` started (see the module docs); `None` while its frame is not fully
    /// written or the fifo is empty.
    pub(super) head_since: Option<Instant>,
    /// The bound of the take-back asked of this worker and not answered yet (see
    /// `dispatch::take_back`): tasks below it may come back. It is sent nothing meanwhile.
    pub(super) taking_back: Option<u64>,
    pub(super) tasks_sent: u64,
    /// When the fifo last became empty.
    pub(super) idle_since: Instant,
    /// A remote worker: a `Kill` was sent to its nanny, why and when; its `Gone` is awaited.
    pub(super) killing: Option<(super::fate::Cause, Instant)>,
    /// When bytes last came from the worker (a remote one's nanny sends heartbeats).
    pub(super) heard: Instant,
    /// What a waiter for a task sent straight to this remote worker watches (see `help`); `None`
    /// for a local worker, whose results the driver relays faster than a waiter could poll.
    #[cfg(waiter_help)]
    pub(super) watch: Option<Arc<super::LinkWatch>>,
    /// Waiters reading the link now (see `help`); the driver polls it only while there are none.
    #[cfg(waiter_help)]
    pub(super) lent: u32,
}

impl Worker {
    /// Whether the task with sequence number `seq` has started, as far as can be known: exactly with
    /// a status page (read it while the worker is stopped or dead), else assumed.
    pub(super) fn has_started(&self, seq: u64) -> bool {
        self.page.as_ref().is_none_or(|p| p.started() > seq)
    }

    /// Queues a `Cancel` frame for each task of the fifo (by position and entry) that `pick` selects
    /// and that has none yet; the worker skips those it has not started.
    pub(super) fn cancel_where(&mut self, now: Instant, mut pick: impl FnMut(usize, &InFlight) -> bool) {
        for i in 0..self.fifo.len() {
            let e = &mut self.fifo[i];
            if e.cancel_sent.is_some() || !pick(i, e) {
                continue;
            }
            e.cancel_sent = Some(now);
            let before = self.out.len();
            wire::encode_cancel(&mut self.out, e.seq);
            self.queued_bytes += (self.out.len() - before) as u64;
        }
    }

    /// Queues `job`'s frame for the worker (written by the next flush) and the job in its fifo.
    pub(super) fn queue_task(&mut self, job: Job) {
        #[cfg(feature = "tracing")]
        {
            self.queued_bytes += super::super::trace::send(job.trace.as_deref(), &mut self.out);
        }
        self.out.extend_from_slice(&job.frame);
        self.queued_bytes += job.frame.len() as u64;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.fifo.push_back(InFlight { job, seq, end: self.queued_bytes, cancel_sent: None });
        self.tasks_sent += 1;
    }

    /// Writes what is pending, as far as the pipe takes it without blocking.
    pub(super) fn flush_out(&mut self) -> Flushed {
        let mut end = Flushed::All;
        while self.to_worker.is_some() && self.out_pos < self.out.len() {
            match self.write_out() {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    end = Flushed::Blocked;
                    break;
                }
                Err(_) => {
                    end = Flushed::Broken;
                    break;
                }
            }
        }
        // A closed input takes nothing more: what was queued for it is dropped.
        if self.to_worker.is_none() || self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        } else if self.out_pos >= OUT_HIGH_WATER {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
        end
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

    pub(super) fn pending_out(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Whether this worker takes new tasks: it passed the handshake and is not going away.
    pub(super) fn takes_work(&self) -> bool {
        self.phase == Phase::Ready && !self.retiring && self.to_worker.is_some() && self.killing.is_none()
    }

    /// Takes the tasks the worker handed back (sequence numbers in `back`) out of its fifo, into the
    /// tally: they never started there.
    fn give_back(&mut self, back: Range<u64>, now: Instant, tally: &mut Tally) {
        let head = self.fifo.front().map(|e| e.seq);
        let (back, kept): (VecDeque<InFlight>, VecDeque<InFlight>) =
            std::mem::take(&mut self.fifo).into_iter().partition(|e| back.contains(&e.seq));
        self.fifo = kept;
        tally.taken_back.extend(back.into_iter().map(|e| e.job));
        if self.fifo.front().map(|e| e.seq) != head {
            self.head_since = None;
            if let Some(wait) = self.update_head(now) {
                tally.queue_wait(wait);
            }
        }
        if self.fifo.is_empty() {
            self.idle_since = now;
        }
    }

    /// Sets `head_since` if the head has just become the running task; returns its queue wait.
    pub(super) fn update_head(&mut self, now: Instant) -> Option<Duration> {
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

/// How a flush of a worker's pending bytes ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flushed {
    /// Everything went (or the input is closed and nothing more can).
    All,
    /// The pipe is full; the rest goes when it drains.
    Blocked,
    /// The write failed: the worker is dead or dying.
    Broken,
}

/// What reading a worker found besides results.
pub(super) enum ReadEnd {
    /// Nothing more to read now.
    Drained,
    /// End of stream: the worker closed its pipe (it exited, or is exiting).
    Eof,
    /// A frame that breaks the protocol.
    Protocol(String),
    /// The worker refused the handshake.
    Refused(String),
    /// A remote worker's nanny says its worker is gone (see `wire::KIND_GONE`).
    Gone { status: i32, started: u64, why: String },
}

/// Reads from a worker (at most `max_reads` reads) and handles every complete frame.
pub(super) fn read_frames(
    w: &mut Worker,
    token: &[u8; 16],
    now: Instant,
    tally: &mut Tally,
    max_reads: usize,
) -> ReadEnd {
    match (read_some(w, token, now, tally, max_reads), &w.host, w.phase) {
        // Bytes before the first frame of a remote worker: almost always a login script's output.
        (ReadEnd::Protocol(msg), Some(host), Phase::Starting { .. }) => ReadEnd::Protocol(format!(
            "{msg}; the link to {host} carried bytes that are not tulip frames before the handshake: \
             a login script there (.bashrc, .profile) that prints to stdout in non-interactive \
             shells is the usual cause"
        )),
        (end, ..) => end,
    }
}

fn read_some(w: &mut Worker, token: &[u8; 16], now: Instant, tally: &mut Tally, max_reads: usize) -> ReadEnd {
    let (mut reads, mut emptied) = (0, false);
    loop {
        if let Some(end) = handle_frames(w, token, now, tally) {
            if let ReadEnd::Protocol(msg) = &end {
                w.reader.refuse(msg.clone());
            }
            return end;
        }
        if reads >= max_reads || emptied {
            return ReadEnd::Drained;
        }
        reads += 1;
        match w.reader.read_from(&mut w.from_worker) {
            Ok(0) => return ReadEnd::Eof,
            Ok(_) => {
                w.heard = now;
                // Results come up a pipe (Unix): a read that left room took all it held, and
                // another would only say `WouldBlock`.
                emptied = cfg!(unix) && !w.reader.filled_last_read();
            }
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
pub(super) fn handle_frames(
    w: &mut Worker,
    token: &[u8; 16],
    now: Instant,
    tally: &mut Tally,
) -> Option<ReadEnd> {
    loop {
        let msg = match w.reader.next_to_parent() {
            Ok(Some(m)) => m,
            Ok(None) => return None,
            Err(e) => return Some(ReadEnd::Protocol(e.to_string())),
        };
        match msg {
            ToParent::Ready { token: theirs, pid } => {
                if let Some(end) = accept_handshake(w, token, &theirs, pid, now, tally) {
                    return Some(end);
                }
            }
            ToParent::Refused(why) => return Some(ReadEnd::Refused(why.to_string())),
            #[cfg(feature = "tracing")]
            ToParent::Event(id, body) => {
                let head = w.fifo.front().map(|e| (e.job.id, e.job.trace.as_deref()));
                if let Err(why) = super::super::trace::defer(head, id, body) {
                    return Some(ReadEnd::Protocol(why));
                }
            }
            ToParent::TakenBack { from, upto } => {
                if w.taking_back.take() != Some(upto) {
                    return Some(ReadEnd::Protocol(format!("tasks {from}..{upto} taken back unasked")));
                }
                w.give_back(from..upto, now, tally);
            }
            ToParent::Gone { status, started, why } if w.host.is_some() => {
                return Some(ReadEnd::Gone { status, started, why: why.to_string() })
            }
            ToParent::Beat if w.host.is_some() => {}
            ToParent::Gone { .. } | ToParent::Beat => {
                return Some(ReadEnd::Protocol("a nanny's frame from a local worker".into()))
            }
            ToParent::Result { id, exec_ns, status } => {
                if w.phase != Phase::Ready {
                    return Some(ReadEnd::Protocol("a result before the handshake".into()));
                }
                if let Err(why) = is_head(&w.fifo, id) {
                    return Some(ReadEnd::Protocol(why));
                }
                let entry = w.fifo.pop_front()?;
                w.head_since = None;
                let outcome = outcome(&status);
                match status {
                    Status::Skipped => {}
                    Status::InitFailed(m) => tally.broken = Some(m.to_string()),
                    _ => tally.exec_ns.push(exec_ns),
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

/// The worker's handshake reply: it must be the first, and carry this pool's token and (for a local
/// worker) the pid the pool started.
fn accept_handshake(
    w: &mut Worker,
    token: &[u8; 16],
    theirs: &[u8; 16],
    pid: u32,
    now: Instant,
    tally: &mut Tally,
) -> Option<ReadEnd> {
    if !matches!(w.phase, Phase::Starting { .. }) {
        return Some(ReadEnd::Protocol("a second handshake reply".into()));
    }
    // A remote worker's pid is on its own host: only the nanny that started it can check.
    let pid_ok = w.host.is_some() || i64::from(pid) == i64::from(w.child.pid());
    if theirs != token || !pid_ok {
        return Some(ReadEnd::Refused("its handshake reply does not carry this pool's token and pid".into()));
    }
    w.phase = Phase::Ready;
    w.idle_since = now;
    tally.became_ready = true;
    None
}

/// Whether task `id` heads `fifo`: results come back in the order tasks were sent.
fn is_head(fifo: &VecDeque<InFlight>, id: u64) -> Result<(), String> {
    match fifo.front() {
        Some(head) if head.job.id == id => Ok(()),
        Some(head) => Err(format!("a result for task {id} while task {} runs", head.job.id)),
        None => Err(format!("a result for task {id}, which it does not have")),
    }
}

/// A task's outcome from its result's status.
fn outcome<'a>(status: &Status<'a>) -> Result<&'a [u8], JobError> {
    match *status {
        Status::Value(bytes) => Ok(bytes),
        Status::Panicked(m) => Err(JobError::Panicked(m.to_string())),
        Status::Codec(m) => Err(JobError::Codec(m.to_string())),
        Status::Skipped => Err(JobError::Cancelled),
        Status::Rejected(m) => Err(JobError::Codec(format!("the worker refused the function: {m}"))),
        Status::InitFailed(m) | Status::StateFailed(m) => Err(JobError::Initializer(m.to_string())),
    }
}
