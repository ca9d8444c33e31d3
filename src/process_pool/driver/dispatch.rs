//! Dispatch: sending tasks to workers, straight from `submit` (the direct path) or from the queue,
//! as deep as the pipelining allows; taking back tasks sent behind a long head; cancellations of
//! queued and sent tasks.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::super::{lock, Job, CANCEL_NONE};
use super::link::{Flushed, Worker, OUT_HIGH_WATER};
use super::{settle, Driver, Tally};
use crate::error::JobError;
use crate::poller::Event;

/// What `try_direct` hands the submitter to watch (see `help`); nothing where waiters do not help.
#[cfg(waiter_help)]
pub(crate) type Direct = std::sync::Arc<super::LinkWatch>;
#[cfg(not(waiter_help))]
pub(crate) type Direct = std::convert::Infallible;

/// The work a worker is sent ahead of what it runs: enough to hide the round trip, little enough
/// that tasks sent behind a long one do not wait long while another worker could run them.
const PIPELINE_BUDGET: Duration = Duration::from_millis(2);

impl Worker {
    /// How many more tasks dispatch may send this worker now, with pipelining `limit` deep. None
    /// while its head has run past the pipelining budget: it is long, and tasks sent behind it
    /// would wait for it (other workers, or a new one, take them). None while a take-back is asked.
    pub(super) fn room(&self, limit: usize, now: Instant) -> usize {
        let long_head = self.long_from().is_some_and(|t| now >= t);
        if !self.takes_work()
            || long_head
            || self.taking_back.is_some()
            || self.pending_out() >= OUT_HIGH_WATER
        {
            return 0;
        }
        limit.saturating_sub(self.fifo.len())
    }

    /// From when the running head counts as long: once it has run for the pipelining budget.
    /// `None`: no head is known to run.
    fn long_from(&self) -> Option<Instant> {
        let head = self.fifo.front()?;
        let since = self.head_since?;
        self.has_started(head.seq).then_some(since + PIPELINE_BUDGET)
    }

    /// When the tasks sent behind this worker's head are to be asked back: once the head has run
    /// for the pipelining budget. `None`: nothing to ask (nothing behind the head, or it started
    /// already, or a take-back is asked), or no way to ask (no status page: see `worker`). The head
    /// need not be known to run yet: this is also the driver's wake-up for the check.
    pub(super) fn take_back_due(&self) -> Option<Instant> {
        let second = self.fifo.get(1)?;
        if self.page.is_none() || self.taking_back.is_some() || self.has_started(second.seq) {
            return None;
        }
        Some(self.head_since? + PIPELINE_BUDGET)
    }
}

impl Driver {
    /// Sends `job` straight to an idle worker, from the submitting thread, if that keeps the order
    /// of submission (nothing queued) and the driver is not busy (the caller only try-locks). One
    /// wake-up less on the way to the worker: the driver is not involved until the result arrives.
    /// Returns what a waiter for the result may watch itself (a remote worker's link, see `help`).
    pub(crate) fn try_direct(&mut self, job: Job) -> Result<Option<Direct>, Job> {
        if self.finished || self.startup.is_some() {
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
            return Ok(None);
        }
        let now = Instant::now();
        let limited = job.limit.is_some();
        self.send_to(slot, job);
        let Some(w) = self.workers[slot].as_mut() else { return Ok(None) };
        self.last_direct = Some(now);
        // The driver must arm the timeout, or the liveness check if its sleep does not include it.
        let mut need_driver = limited || !self.ticking;
        // Blocked or broken: what is left is the driver's to flush (or to find broken).
        need_driver |= w.flush_out() != Flushed::All;
        if let Some(wait) = w.update_head(now) {
            Tally::new(&self.shared).queue_wait(wait);
        }
        if need_driver {
            let _ = self.shared.poller.notify();
        }
        #[cfg(waiter_help)]
        let watch = w.watch.clone();
        self.publish_stats();
        #[cfg(waiter_help)]
        return Ok(watch);
        #[cfg(not(waiter_help))]
        Ok(None)
    }

    /// How many tasks a worker may hold: about [`PIPELINE_BUDGET`] of work at the measured
    /// execution time (between 2 and 512), or one at a time for tasks of half that or more.
    pub(super) fn depth_limit(&self) -> usize {
        let budget = PIPELINE_BUDGET.as_nanos() as f64;
        if self.ewma_ns <= 0.0 || self.ewma_ns >= budget / 2.0 {
            1
        } else {
            (budget / self.ewma_ns).clamp(2.0, 512.0) as usize
        }
    }

    /// Sends queued tasks to the workers with room, the least loaded first. Tasks nobody wants any
    /// more are settled on the way and take no room, so a task behind them goes out in this round.
    pub(super) fn dispatch(&mut self) {
        if self.closing().is_some_and(|c| c.kill) {
            return;
        }
        let (limit, now) = (self.depth_limit(), Instant::now());
        let mut tally = Tally::new(&self.shared);
        let mut left = Vec::new();
        while left.is_empty() {
            let total: usize = self.workers.iter().flatten().map(|w| w.room(limit, now)).sum();
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
                    .filter_map(|(i, w)| {
                        w.as_ref().filter(|w| w.room(limit, now) > 0).map(|w| (w.fifo.len(), i))
                    })
                    .min();
                // Room can shrink by more than one (a worker retiring): the rest go back, in order.
                match best {
                    Some((_, slot)) if left.is_empty() => self.send_to(slot, job),
                    _ => left.push(job),
                }
            }
        }
        self.requeue_front(left);
        self.absorb(tally);
    }

    /// Asks workers whose head is long for the tasks sent behind it, while another worker can take
    /// them or the pool can start one (see [`take_back_due`](Worker::take_back_due)). What they
    /// hand back is re-queued at the front (see [`requeue_front`](Driver::requeue_front)) and
    /// dispatched like any queued task.
    pub(super) fn take_back(&mut self, now: Instant) {
        if self.closing().is_some() {
            return;
        }
        let limit = self.depth_limit();
        // Tasks back in the queue with no room anywhere make `maintain` start a worker for them.
        let can_grow = self.usable() < self.shared.config.max_workers;
        for slot in 0..self.workers.len() {
            let due = |w: &Worker| w.take_back_due().is_some_and(|t| now >= t) && w.long_from().is_some();
            if !self.workers[slot].as_ref().is_some_and(due) {
                continue;
            }
            let others = self.workers.iter().enumerate().filter(|&(other, _)| other != slot);
            if !can_grow && !others.filter_map(|(_, w)| w.as_ref()).any(|w| w.room(limit, now) > 0) {
                continue;
            }
            if let Some(w) = self.workers[slot].as_mut() {
                if let Some(page) = &w.page {
                    page.ask_take_back(w.next_seq);
                    w.taking_back = Some(w.next_seq);
                }
            }
        }
    }

    /// Puts `jobs` back at the front of the queue, in their order: tasks that were taken from it
    /// but never started (handed back by a worker, or left over by dispatch).
    pub(super) fn requeue_front(&mut self, jobs: Vec<Job>) {
        if jobs.is_empty() {
            return;
        }
        let mut inbox = lock(&self.shared.inbox);
        for job in jobs.into_iter().rev() {
            inbox.queue.push_front(job);
        }
    }

    /// Queues `job` for worker `slot` (written by the next flush).
    pub(super) fn send_to(&mut self, slot: usize, job: Job) {
        let max_tasks = self.shared.config.max_tasks_per_child;
        if let Some(w) = self.workers[slot].as_mut() {
            w.queue_task(job);
            // Recycled: it takes nothing more, and exits once its tasks are done.
            w.retiring |= max_tasks.is_some_and(|m| w.tasks_sent >= m);
        }
    }

    pub(super) fn apply_cancels(&mut self, ids: Vec<u64>, now: Instant) {
        if ids.is_empty() {
            return;
        }
        let ids: HashSet<u64> = ids.into_iter().collect();
        for w in self.workers.iter_mut().flatten() {
            w.cancel_where(now, |_, e| ids.contains(&e.job.id));
        }
        // Queued tasks (never sent, or re-queued after their worker died) leave the queue now.
        let found: Vec<Job> = {
            let mut inbox = lock(&self.shared.inbox);
            let queue = std::mem::take(&mut inbox.queue);
            let (found, kept): (Vec<Job>, Vec<Job>) = queue.into_iter().partition(|j| ids.contains(&j.id));
            inbox.queue = kept.into();
            found
        };
        let mut tally = Tally::new(&self.shared);
        for job in found {
            settle(job, Err(JobError::Cancelled), &mut tally);
        }
        self.absorb(tally);
    }

    pub(super) fn flush_all(&mut self, now: Instant) {
        for slot in 0..self.workers.len() {
            if self.workers[slot].as_ref().is_some_and(|w| w.pending_out() > 0 && !w.write_armed) {
                self.flush(slot, now);
            }
        }
    }

    /// Writes what is pending for worker `slot`, as far as the pipe takes it.
    pub(super) fn flush(&mut self, slot: usize, now: Instant) {
        let Some(w) = self.workers.get_mut(slot).and_then(Option::as_mut) else { return };
        let flushed = w.flush_out();
        if flushed == Flushed::Blocked && !w.write_armed {
            // Told when the pipe takes more.
            w.write_armed = true;
            let watched = (w.to_worker.as_ref())
                .map(|pipe| self.shared.poller.modify(pipe, Event::writable(2 * slot + 1)));
            if let Some(Err(e)) = watched {
                log::error!("tulip: could not watch a worker's pipe: {e}");
            }
        }
        if let Some(wait) = w.update_head(now) {
            Tally::new(&self.shared).queue_wait(wait);
        }
        if flushed == Flushed::Broken {
            // Its input is closed: it is dead or dying.
            self.on_eof(slot);
        }
    }
}
