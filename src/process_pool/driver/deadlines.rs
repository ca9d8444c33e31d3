//! Deadlines: when a running task is stopped, an idle worker retires and busy workers are checked
//! for life, each formula in one place for both the check and the driver's next wake-up.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::super::CANCEL_USER;
use super::fate::Cause;
use super::link::{Phase, Worker};
use super::Driver;

/// After a cancel frame was sent for the task at the head, how long the worker gets to skip it (if it
/// had not started) before the driver concludes it runs and kills it.
const CANCEL_GRACE: Duration = Duration::from_millis(5);

/// How often the driver checks, with `waitpid`, that workers with tasks in flight still live. Their
/// end is normally seen at once as EOF on their pipe, unless a task forked a child that holds it.
const LIVENESS_CHECK: Duration = Duration::from_secs(1);

impl Worker {
    /// When the head must be stopped, and why: the deadline formulas of cancels and run-time limits,
    /// for both the driver's wait and its check. `None`: never (no limit, or one too far to count).
    pub(super) fn head_due(&self) -> Option<(Instant, Cause)> {
        let head = self.fifo.front().filter(|_| self.killing.is_none())?;
        let since = self.head_since?;
        let id = head.job.id;
        match head.job.ctl.cancel.load(Ordering::Acquire) {
            CANCEL_USER => {
                // A skip can come only once the task before ends: grace counts from the later.
                let at = head.cancel_sent?.max(since) + CANCEL_GRACE;
                Some((at, Cause::Cancel(id)))
            }
            // Unwanted tasks that already run are left to finish, within the timeout.
            _ => {
                let limit = head.job.limit?;
                Some((since.checked_add(limit)?, Cause::Timeout(id, limit)))
            }
        }
    }

    /// When this worker, idle, may exit (if the pool is above `min_workers`); `None`: never.
    pub(super) fn idle_due(&self, idle_timeout: Duration) -> Option<Instant> {
        self.idle_since.checked_add(idle_timeout)
    }
}

impl Driver {
    /// Stops heads that were cancelled (and not skipped) or ran past the timeout.
    pub(super) fn check_heads(&mut self, now: Instant) {
        let victims: Vec<(usize, Cause)> = (self.workers.iter().enumerate())
            .filter_map(|(slot, w)| w.as_ref().and_then(Worker::head_due).map(|due| (slot, due)))
            .filter(|(_, (at, _))| now >= *at)
            .map(|(slot, (_, cause))| (slot, cause))
            .collect();
        for (slot, cause) in victims {
            self.stop_and_kill(slot, cause);
        }
    }

    /// When busy workers are next checked with `waitpid` (their death may not close their pipes):
    /// while tasks are in flight, or were sent straight from `submit` lately (the driver learns of
    /// those only from their results). `None`: no check due.
    pub(super) fn liveness_due(&self, now: Instant) -> Option<Instant> {
        let busy = self.workers.iter().flatten().any(|w| !w.fifo.is_empty());
        let direct = self.last_direct.is_some_and(|t| now.saturating_duration_since(t) < 2 * LIVENESS_CHECK);
        (busy || direct).then(|| self.last_liveness_check + LIVENESS_CHECK)
    }

    /// The wake-up the driver sleeps until, noting whether it includes the liveness check (see
    /// `ticking`).
    pub(super) fn sleep_until(&mut self) -> Option<Instant> {
        self.ticking = self.liveness_due(Instant::now()).is_some();
        self.asleep_until = self.next_deadline();
        self.asleep_until
    }

    /// The earliest of everything due: handshakes, heads' cancels and timeouts, idle workers,
    /// liveness, a shutdown deadline, a spawn retry, a resize.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let cfg = &self.shared.config;
        let mut next: Option<Instant> = None;
        let mut at = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        let usable = self.usable();
        for w in self.workers.iter().flatten() {
            match w.phase {
                Phase::Starting { deadline } => at(deadline),
                Phase::Ready if !w.fifo.is_empty() => {
                    if let Some((t, _)) = w.head_due() {
                        at(t);
                    }
                    // Only ahead: once past, the check runs again when a worker frees up.
                    if let Some(t) = w.take_back_due().filter(|&t| t > Instant::now()) {
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
        if let Some(t) = self.liveness_due(Instant::now()) {
            at(t);
        }
        if let Some(t) = self.remote_due() {
            at(t);
        }
        if let Some(c) = self.closing() {
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
}
