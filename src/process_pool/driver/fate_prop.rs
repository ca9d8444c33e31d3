//! A property test: each task ends exactly once, whatever the interleaving of submit, dispatch,
//! start, completion, cancel, worker death and shutdown. A small model of the driver's queue and
//! workers routes every death through the real [`of_tasks`]; the reference is a count of ends per
//! task, which must be exactly one for every submitted task once the pool has shut down.

use std::collections::VecDeque;
use std::time::Duration;

use proptest::prelude::*;

use super::super::super::tests::job;
use super::super::super::{Job, CANCEL_NONE, CANCEL_UNWANTED, CANCEL_USER};
use super::{of_tasks, Cause};
use crate::error::JobError;

const WORKERS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Submit,
    /// Hands the front of the queue to worker `w` (workers hold several tasks, in order).
    Dispatch(usize),
    /// Worker `w` starts its head.
    Start(usize),
    /// Worker `w` finishes its started head.
    Complete(usize),
    /// Cancels the `n`th submitted task (modulo), as the user or by dropping its future.
    Cancel(usize, bool),
    /// Worker `w` goes, for `cause`; `unsure` if the driver cannot tell whether an unstarted head started.
    Die(usize, u8, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Submit),
        3 => (0..WORKERS).prop_map(Op::Dispatch),
        2 => (0..WORKERS).prop_map(Op::Start),
        2 => (0..WORKERS).prop_map(Op::Complete),
        2 => (0..64usize, any::<bool>()).prop_map(|(n, user)| Op::Cancel(n, user)),
        2 => (0..WORKERS, 0..5u8, any::<bool>()).prop_map(|(w, c, u)| Op::Die(w, c, u)),
    ]
}

#[derive(Default)]
struct Worker {
    tasks: VecDeque<Job>,
    head_started: bool,
}

/// The model driver: a queue, the workers, and how often each task ended (the reference).
#[derive(Default)]
struct Model {
    queue: VecDeque<Job>,
    workers: [Worker; WORKERS],
    ends: Vec<u32>,
    /// Tasks that ended, with how, in the order they ended.
    log: Vec<(u64, Result<(), JobError>)>,
}

impl Model {
    fn end(&mut self, job: Job, result: Result<(), JobError>) {
        self.ends[job.id as usize] += 1;
        self.log.push((job.id, result));
    }

    fn cause(&self, w: usize, code: u8) -> Cause {
        let head = self.workers[w].tasks.front().map_or(u64::MAX, |j| j.id);
        match code {
            0 => Cause::Ended,
            1 => Cause::Cancel(head),
            2 => Cause::Timeout(head, Duration::from_secs(1)),
            3 => Cause::Protocol("bad frame".into()),
            _ => Cause::Lingered,
        }
    }

    fn die(&mut self, w: usize, cause: &Cause, unsure: bool) {
        let worker = std::mem::take(&mut self.workers[w]);
        let started = worker.head_started || unsure;
        let before: Vec<u64> = worker.tasks.iter().map(|j| j.id).collect();
        let fate = of_tasks(worker.tasks, started, cause, "died");
        let mut after: Vec<u64> = fate.failed.iter().map(|(j, _)| j.id).collect();
        after.extend(fate.requeued.iter().map(|j| j.id));
        after.sort_unstable();
        let mut sorted = before.clone();
        sorted.sort_unstable();
        assert_eq!(after, sorted, "every task of the dead worker is either failed or requeued");
        let requeued: Vec<u64> = fate.requeued.iter().map(|j| j.id).collect();
        let order: Vec<u64> = before.iter().copied().filter(|id| requeued.contains(id)).collect();
        assert_eq!(requeued, order, "requeued tasks keep their order");
        for job in &fate.requeued {
            assert_eq!(job.ctl.cancel.load(std::sync::atomic::Ordering::Acquire), CANCEL_NONE);
        }
        if matches!(cause, Cause::Shutdown) {
            assert!(fate.requeued.is_empty(), "a shutdown requeues nothing");
        }
        for (job, err) in fate.failed {
            self.end(job, Err(err));
        }
        for job in fate.requeued.into_iter().rev() {
            self.queue.push_front(job);
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Submit => {
                let id = self.ends.len() as u64;
                self.ends.push(0);
                self.queue.push_back(job(id, CANCEL_NONE));
            }
            Op::Dispatch(w) => {
                if let Some(job) = self.queue.pop_front() {
                    self.workers[w].tasks.push_back(job);
                }
            }
            Op::Start(w) => {
                let worker = &mut self.workers[w];
                worker.head_started |= !worker.tasks.is_empty();
            }
            Op::Complete(w) => {
                if self.workers[w].head_started {
                    self.workers[w].head_started = false;
                    if let Some(job) = self.workers[w].tasks.pop_front() {
                        self.end(job, Ok(()));
                    }
                }
            }
            Op::Cancel(n, user) => self.cancel(n, user),
            Op::Die(w, code, unsure) => {
                let cause = self.cause(w, code);
                self.die(w, &cause, unsure);
            }
        }
    }

    /// As the driver: a queued task that is stopped leaves the queue and ends at once; a sent
    /// one is only marked (its worker skips it, or is killed for it).
    fn cancel(&mut self, n: usize, user: bool) {
        if self.ends.is_empty() {
            return;
        }
        let id = (n % self.ends.len()) as u64;
        if let Some(at) = self.queue.iter().position(|j| j.id == id) {
            let job = self.queue.remove(at).expect("position is in range");
            if job.ctl.mark(CANCEL_UNWANTED) {
                self.end(job, Err(JobError::Cancelled));
            }
            return;
        }
        let why = if user { CANCEL_USER } else { CANCEL_UNWANTED };
        for worker in &self.workers {
            if let Some(job) = worker.tasks.iter().find(|j| j.id == id) {
                job.ctl.mark(why);
            }
        }
    }

    fn shutdown(&mut self) {
        for w in 0..WORKERS {
            self.die(w, &Cause::Shutdown, false);
        }
        while let Some(job) = self.queue.pop_front() {
            self.end(job, Err(JobError::ShutDown));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 512 }))]

    #[test]
    fn each_task_ends_exactly_once(ops in prop::collection::vec(op(), 0..80)) {
        let mut model = Model::default();
        for op in &ops {
            model.apply(op);
            prop_assert!(model.ends.iter().all(|&n| n <= 1), "a task ended twice: {:?}", model.log);
        }
        model.shutdown();
        prop_assert!(model.ends.iter().all(|&n| n == 1), "ends per task {:?}, log {:?}", model.ends, model.log);
    }

    #[test]
    fn a_task_never_started_is_requeued_a_bounded_number_of_times(deaths in 1..10usize) {
        let mut model = Model::default();
        model.apply(&Op::Submit);
        for _ in 0..deaths {
            model.apply(&Op::Dispatch(0));
            model.apply(&Op::Die(0, 0, false));
        }
        let failed = model.log.iter().any(|(id, r)| *id == 0 && matches!(r, Err(JobError::WorkerDied(_))));
        prop_assert_eq!(failed, deaths >= 3);
    }

    #[test]
    fn the_killed_head_gets_the_error_of_why(code in 0..5u8, cancelled_first in any::<bool>()) {
        let mut model = Model::default();
        model.apply(&Op::Submit);
        model.apply(&Op::Dispatch(0));
        model.apply(&Op::Start(0));
        if cancelled_first {
            model.apply(&Op::Cancel(0, true));
        }
        model.apply(&Op::Die(0, code, false));
        let expected_cancel = code == 1;
        let got = &model.log[0].1;
        prop_assert_eq!(matches!(got, Err(JobError::Cancelled)), expected_cancel);
        prop_assert_eq!(matches!(got, Err(JobError::TimedOut(_))), code == 2);
    }
}
