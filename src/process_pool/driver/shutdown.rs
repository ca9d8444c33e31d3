//! Shutdown: applying `shutdown` requests as they come, and the end of the driver.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::super::spawn;
use super::super::{lock, Closing, Job, CANCEL_NONE, CANCEL_SHUTDOWN};
use super::fate::Cause;
use super::{settle, Driver, Tally};
use crate::error::{JobError, PoolError};

impl Driver {
    /// Applies a shutdown request; returns `true` when the driver is done.
    pub(super) fn on_closing(&mut self, now: Instant) -> bool {
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

    /// Stops the pool for good: kills and reaps every worker, joins the spawner, settles every job
    /// left, and releases whoever waits for the shutdown. Runs once, whatever ended the driver.
    pub(super) fn finish(&mut self) {
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
}
