//! Shutdown: applying `shutdown` requests as they come, and the end of the driver.
//!
//! The one closed state is the inbox's `closing` (see `Inbox::close`): the handle writes it, and
//! the driver reads it and makes it stronger when a deadline passes.

use std::time::{Duration, Instant};

use super::super::{lock, Closing, Job};
use super::fate::Cause;
use super::supervisor::kill_and_reap;
use super::{settle, Driver, Tally};
use crate::error::{BuildError, JobError};

/// The strongest shutdown: everything not done ends now.
const KILL: Closing = Closing { deadline: None, kill: true };

impl Driver {
    /// The shutdown requested so far, if any.
    pub(super) fn closing(&self) -> Option<Closing> {
        lock(&self.shared.inbox).closing
    }

    /// Applies the shutdown requested, if any; returns `true` when the driver is done.
    pub(super) fn on_closing(&mut self, now: Instant) -> bool {
        let Some(c) = self.closing() else { return false };
        if c.kill || c.deadline.is_some_and(|d| now >= d) {
            return self.kill_all(c);
        }
        self.live() == 0 && self.pending_spawns == 0 && lock(&self.shared.inbox).queue.is_empty()
    }

    /// Ends all work now (a kill, or the deadline `c` had passed); `true` when the driver is done.
    fn kill_all(&mut self, c: Closing) -> bool {
        if !c.kill {
            let (running, waiting) = self.sent();
            self.report.still_running += running;
            self.report.cancelled += waiting + lock(&self.shared.inbox).queue.len();
            lock(&self.shared.inbox).close(KILL);
        }
        self.fail_queued(JobError::ShutDown);
        for slot in 0..self.workers.len() {
            self.kill_worker(slot, Cause::Shutdown);
        }
        // Workers still being spawned are killed as they arrive, in the next rounds.
        self.pending_spawns == 0
    }

    /// The initializer failed in a worker: the pool takes no more tasks (`SubmitError::Broken`),
    /// and those queued fail with the initializer's error. Workers go on with what they were sent
    /// (a worker whose initializer failed refuses it the same way).
    pub(super) fn break_pool(&mut self, msg: String) {
        {
            let mut inbox = lock(&self.shared.inbox);
            if inbox.broken.is_some() {
                return;
            }
            inbox.broken = Some(msg.clone());
        }
        self.fail_queued(JobError::Initializer(msg));
        self.shared.wake_submitters();
    }

    /// Ends every queued task with `err`.
    pub(super) fn fail_queued(&mut self, err: JobError) {
        let queued: Vec<Job> = lock(&self.shared.inbox).queue.drain(..).collect();
        let mut tally = Tally::new(&self.shared);
        for job in queued {
            settle(job, Err(err.clone()), &mut tally);
        }
        self.absorb(tally);
    }

    /// Stops the pool for good: kills and reaps every worker, joins the spawner, settles every job
    /// left, and releases whoever waits for the shutdown. Runs once, whatever ended the driver.
    pub(super) fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        lock(&self.shared.inbox).close(KILL);
        for slot in 0..self.workers.len() {
            self.kill_worker(slot, Cause::Shutdown);
        }
        // Workers still being spawned for this pool are killed as they arrive.
        while self.pending_spawns > 0 {
            match self.spawned_rx.recv_timeout(Duration::from_secs(30)) {
                Ok((_, r)) => {
                    self.pending_spawns -= 1;
                    if let Ok(mut s) = r {
                        kill_and_reap(&mut s.child);
                    }
                }
                Err(_) => break,
            }
        }
        self.fail_queued(JobError::ShutDown);
        #[cfg(feature = "tracing")]
        super::super::trace::flush();
        self.publish_stats();
        for job in self.done.drain(..) {
            job.sink.complete();
        }
        if let Some(tx) = self.startup.take() {
            let _ = tx.send(Err(BuildError::Spawn("the pool was shut down while it started".into())));
        }
        *lock(&self.shared.finished) = Some(self.report);
        self.shared.finished_cv.notify_all();
    }
}
