//! The fate of a dead worker's tasks: which fail, with what error, and which go back to the queue.
//!
//! A pure function of the tasks (in the worker's order), whether the first had started, and why the
//! worker went: unit-tested below without any process.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::super::{Job, CANCEL_NONE};
use crate::error::JobError;

/// Why a worker is being removed.
#[derive(Debug, Clone)]
pub(super) enum Cause {
    /// It ended by itself (its pipe closed or a write to it failed).
    Ended,
    /// It closed its pipe but went on running, and the pool killed it.
    Lingered,
    /// Killed to stop task `id`, which was cancelled.
    Cancel(u64),
    /// Killed to stop task `id`, which ran past its run-time limit (the `Duration`).
    Timeout(u64, Duration),
    /// Killed because it sent something invalid.
    Protocol(String),
    /// Refused the handshake.
    Refused(String),
    /// Did not answer the handshake in time.
    HandshakeTimeout,
    /// Killed because the pool is shutting down now.
    Shutdown,
    /// A remote worker whose link carried nothing, not even a heartbeat, for this long.
    Silent(Duration),
}

/// What becomes of a dead worker's tasks.
#[derive(Default)]
pub(super) struct Fate {
    /// Tasks that end now, with their error.
    pub(super) failed: Vec<(Job, JobError)>,
    /// Tasks that never started and go back to the front of the queue, in their order.
    pub(super) requeued: Vec<Job>,
}

/// Decides the fate of the tasks a worker held when it went (`tasks` in its order; the first is the
/// head). `head_started`: the head is known to have started, or cannot be known not to have.
/// `how`: how the worker ended, for the errors.
///
/// The head that ran is the one victim; a head that provably never started goes back to the queue
/// like the rest, unless it was next in line at too many deaths (it may be what kills them). On a
/// shutdown every task ends with `ShutDown`.
pub(super) fn of_tasks(
    tasks: impl IntoIterator<Item = Job>,
    head_started: bool,
    cause: &Cause,
    how: &str,
) -> Fate {
    let mut fate = Fate::default();
    let mut tasks = tasks.into_iter();
    let shutdown = matches!(cause, Cause::Shutdown);
    if head_started || shutdown {
        if let Some(head) = tasks.next() {
            let err = victim_error(head.id, cause, how);
            fate.failed.push((head, err));
        }
    } else if let Some(mut head) = tasks.next() {
        match head.died_at_head() {
            Some(n) => {
                let err = JobError::WorkerDied(format!(
                    "{n} workers died with this task next in line, before starting it (the last one {how})"
                ));
                fate.failed.push((head, err));
            }
            None => fate = fate.unstarted(head, shutdown),
        }
    }
    tasks.fold(fate, |fate, job| fate.unstarted(job, shutdown))
}

/// Decides the fate of tasks a live worker handed back (they never started there): back to the
/// queue in their order, unless they were stopped meanwhile. No death is counted against them.
pub(super) fn of_unstarted(tasks: impl IntoIterator<Item = Job>) -> Fate {
    tasks.into_iter().fold(Fate::default(), |fate, job| fate.unstarted(job, false))
}

impl Fate {
    /// A task that never started: back to the queue, unless it was stopped or the pool is going.
    fn unstarted(mut self, job: Job, shutdown: bool) -> Fate {
        match job.ctl.cancel.load(Ordering::Acquire) {
            CANCEL_NONE if !shutdown => self.requeued.push(job),
            _ if shutdown => self.failed.push((job, JobError::ShutDown)),
            _ => self.failed.push((job, JobError::Cancelled)),
        }
        self
    }
}

/// The error of the task that was running when its worker went.
fn victim_error(id: u64, cause: &Cause, how: &str) -> JobError {
    match cause {
        Cause::Cancel(v) if *v == id => JobError::Cancelled,
        Cause::Timeout(v, limit) if *v == id => JobError::TimedOut(*limit),
        Cause::Shutdown => JobError::ShutDown,
        Cause::Protocol(msg) => JobError::WorkerDied(format!("{how} after it sent a malformed frame: {msg}")),
        Cause::Cancel(_) | Cause::Timeout(..) => {
            JobError::WorkerDied(format!("{how}: the pool stopped it to end another task"))
        }
        _ => JobError::WorkerDied(how.to_string()),
    }
}

#[cfg(test)]
#[path = "fate_prop.rs"]
mod prop;

#[cfg(test)]
mod tests {
    use super::super::super::tests::job;
    use super::super::super::{CANCEL_UNWANTED, CANCEL_USER};
    use super::*;

    fn ids(fate: &Fate) -> (Vec<(u64, JobError)>, Vec<u64>) {
        let failed = fate.failed.iter().map(|(j, e)| (j.id, e.clone())).collect();
        (failed, fate.requeued.iter().map(|j| j.id).collect())
    }

    #[test]
    fn a_crash_fails_the_running_head_and_requeues_the_rest_in_order() {
        let fate = of_tasks(
            [job(1, CANCEL_NONE), job(2, CANCEL_NONE), job(3, CANCEL_NONE)],
            true,
            &Cause::Ended,
            "x",
        );
        assert_eq!(ids(&fate), (vec![(1, JobError::WorkerDied("x".into()))], vec![2, 3]));
    }

    #[test]
    fn a_head_that_never_started_goes_back_to_the_queue() {
        let fate = of_tasks([job(1, CANCEL_NONE), job(2, CANCEL_NONE)], false, &Cause::Ended, "x");
        assert_eq!(ids(&fate), (vec![], vec![1, 2]));
    }

    #[test]
    fn the_stopped_task_gets_the_error_of_why_it_was_stopped() {
        for (cause, err) in [
            (Cause::Cancel(1), JobError::Cancelled),
            (Cause::Timeout(1, Duration::from_secs(1)), JobError::TimedOut(Duration::from_secs(1))),
            (
                Cause::Timeout(9, Duration::from_secs(1)),
                JobError::WorkerDied("x: the pool stopped it to end another task".into()),
            ),
        ] {
            let fate = of_tasks([job(1, CANCEL_NONE)], true, &cause, "x");
            assert_eq!(ids(&fate), (vec![(1, err)], vec![]));
        }
    }

    #[test]
    fn unstarted_tasks_that_were_stopped_end_instead_of_going_back() {
        let tasks = [job(1, CANCEL_NONE), job(2, CANCEL_USER), job(3, CANCEL_UNWANTED)];
        let fate = of_tasks(tasks, true, &Cause::Ended, "x");
        let failed =
            vec![(1, JobError::WorkerDied("x".into())), (2, JobError::Cancelled), (3, JobError::Cancelled)];
        assert_eq!(ids(&fate), (failed, vec![]));
    }

    #[test]
    fn a_shutdown_ends_every_task() {
        let fate = of_tasks([job(1, CANCEL_NONE), job(2, CANCEL_NONE)], false, &Cause::Shutdown, "x");
        assert_eq!(ids(&fate), (vec![(1, JobError::ShutDown), (2, JobError::ShutDown)], vec![]));
    }

    #[test]
    fn tasks_handed_back_go_back_to_the_queue_unless_stopped() {
        let mut head = job(1, CANCEL_NONE);
        head.deaths_at_head = 2;
        let fate = of_unstarted([head, job(2, CANCEL_USER), job(3, CANCEL_NONE), job(4, CANCEL_UNWANTED)]);
        assert_eq!(ids(&fate), (vec![(2, JobError::Cancelled), (4, JobError::Cancelled)], vec![1, 3]));
    }

    #[test]
    fn a_head_next_in_line_at_repeated_deaths_fails() {
        let mut head = job(1, CANCEL_NONE);
        head.deaths_at_head = 2;
        let fate = of_tasks([head, job(2, CANCEL_NONE)], false, &Cause::Ended, "x");
        let (failed, requeued) = ids(&fate);
        assert!(matches!(&failed[..], [(1, JobError::WorkerDied(m))] if m.starts_with("3 workers died")));
        assert_eq!(requeued, vec![2]);
    }
}
