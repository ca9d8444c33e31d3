//! The pool's side of a remote worker's nanny (see [`nanny`](super::super::nanny)): stopping a
//! task with a `Kill` frame over the link instead of ending the link, taking a `Gone` (the worker
//! died there; the link stays and carries the next one), and a link that went silent.
//!
//! A `Kill` costs no new connection: the worker, which reads the link itself, ends with its tasks'
//! processes; its nanny answers `Gone` with how many tasks it had started, and, once the pool's
//! `Restart` follows, starts a fresh worker on the same link, which passes the handshake again. A
//! worker that dies there by itself takes the same path, so the tasks it never started are re-sent,
//! not failed.

use std::time::{Duration, Instant};

use super::super::wire::{self, KIND_KILL};
use super::super::HANDSHAKE_TIMEOUT;
use super::fate::Cause;
use super::link::{read_frames, Phase, Worker};
use super::{Driver, Tally};

/// How long the pool waits for a nanny's `Gone` after its `Kill` before it ends the link instead.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Queues a frame for the far end of `w`'s link.
fn queue(w: &mut Worker, frame: &[u8]) {
    w.out.extend_from_slice(frame);
    w.queued_bytes += frame.len() as u64;
}

impl Driver {
    /// Stops task `victim` on remote worker `slot` (`cause`: its timeout or cancel): reads what
    /// the worker already sent, and if the victim still runs, asks the nanny to kill the worker.
    pub(super) fn stop_remote(&mut self, slot: usize, victim: u64, cause: Cause) {
        let now = Instant::now();
        let Some(w) = self.workers[slot].as_mut().filter(|w| w.killing.is_none()) else { return };
        let mut tally = Tally::new(&self.shared);
        let end = read_frames(w, &self.token, now, &mut tally, usize::MAX);
        if w.fifo.front().is_some_and(|h| h.job.id == victim) {
            let mut kill = Vec::new();
            wire::encode_bare(&mut kill, KIND_KILL);
            queue(w, &kill);
            w.killing = Some((cause, now));
        }
        self.absorb(tally);
        self.after_read(slot, end);
        self.flush(slot, now);
    }

    /// The nanny of worker `slot` says its worker is gone (wait `status`, `started`: one more than
    /// the last task it started, `u64::MAX` if unknown, and `why`): its tasks are settled as for a
    /// dead local worker, and the link waits for the next worker's handshake.
    pub(super) fn on_gone(&mut self, slot: usize, status: i32, started: u64, why: &str) {
        let now = Instant::now();
        let Some(w) = self.workers[slot].as_mut() else { return };
        let host = w.host.clone().unwrap_or_default();
        if w.phase != Phase::Ready {
            // It never became a worker: a failed start, as when the link ends then.
            return self.kill_worker(slot, Cause::Refused(format!("on {host}: {why}")));
        }
        let cause = w.killing.take().map_or(Cause::Ended, |(c, _)| c);
        let how = format!("on {host}: the {why}");
        let fifo = std::mem::take(&mut w.fifo);
        let head_started = fifo.front().is_some_and(|h| started == u64::MAX || started > h.seq);
        (w.phase, w.next_seq, w.head_since) =
            (Phase::Starting { deadline: now + HANDSHAKE_TIMEOUT }, 0, None);
        // Nothing follows until the new worker's `Ready` (see `KIND_RESTART`).
        queue(w, &wire::restart_marker(&self.token));
        let by_pool = matches!(cause, Cause::Cancel(_) | Cause::Timeout(..));
        let counters = &self.shared.counters;
        if !by_pool {
            counters.worker_deaths.fetch_add(1, std::sync::atomic::Ordering::Release);
            log::warn!("tulip: process-pool worker {how} (status {status:#x})");
        }
        counters.workers_started.fetch_add(1, std::sync::atomic::Ordering::Release);
        self.settle_fifo(fifo, head_started, &cause, &how, Tally::new(&self.shared));
        self.flush(slot, now);
        self.resize_due = true;
    }

    /// The earliest remote deadline: a `Kill` unanswered, or a link silent for too long.
    pub(super) fn remote_due(&self) -> Option<Instant> {
        let targets = &self.shared.config.targets;
        let due = |w: &Worker| {
            let killing = w.killing.as_ref().map(|(_, sent)| *sent + KILL_WAIT);
            let limit = targets.get(w.target).and_then(|t| t.silence_limit());
            let silent = limit.filter(|_| w.phase == Phase::Ready).map(|l| w.heard + l);
            killing.into_iter().chain(silent).min()
        };
        self.workers.iter().flatten().filter_map(due).min()
    }

    /// Ends the links of remote workers whose `Kill` went unanswered or that went silent.
    pub(super) fn check_remote(&mut self, now: Instant) {
        for slot in 0..self.workers.len() {
            let Some(w) = self.workers[slot].as_mut() else { continue };
            if let Some((cause, sent)) = w.killing.as_ref().filter(|(_, sent)| now >= *sent + KILL_WAIT) {
                log::warn!("tulip: no answer to a Kill sent {:?} ago: ending the link", now - *sent);
                let cause = cause.clone();
                self.kill_worker(slot, cause);
                continue;
            }
            if self.silent_for(slot, now).is_none() {
                continue;
            }
            // Bytes that sit unread were sent: a round that ran long is not a silent link.
            self.read_worker(slot, now);
            if let Some(limit) = self.silent_for(slot, now) {
                self.kill_worker(slot, Cause::Silent(limit));
            }
        }
    }

    /// The silence limit of remote worker `slot` if it has heard nothing from it for that long.
    fn silent_for(&self, slot: usize, now: Instant) -> Option<Duration> {
        let w = self.workers.get(slot)?.as_ref()?;
        let limit = self.shared.config.targets.get(w.target).and_then(|t| t.silence_limit())?;
        (w.phase == Phase::Ready && now >= w.heard + limit).then_some(limit)
    }
}
