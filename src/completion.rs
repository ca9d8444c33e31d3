//! Blocking [`wait`] and [`as_completed`] over many [`ConcurrentFuture`]s, as in Python's
//! `concurrent.futures`.
//!
//! # Implementation
//!
//! One [`Finished`] queue per call, fed by a done-callback on each future: the thread that completes a
//! job pushes the job's index, and the waiting thread pops indices in completion order. There is no
//! polling loop and no thread per future; the waiting thread sleeps on one condvar, which a producer
//! signals only while somebody sleeps on it.
//!
//! A done-callback runs just before its future's outcome becomes visible (see
//! [`ConcurrentFuture::add_done_callback`]), so a future handed out here may report
//! [`is_done`](ConcurrentFuture::is_done) `false` for a moment; its [`wait`](ConcurrentFuture::wait)
//! returns at once.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Elapsed, JobError};
use crate::future::ConcurrentFuture;
use crate::sync::lock;

/// When [`wait`] returns (Python's `return_when`).
///
/// # Examples
///
/// ```
/// use tulip::ReturnWhen;
/// let pool = tulip::ThreadPool::builder().build().unwrap();
/// let futs = vec![pool.submit(|| 1).unwrap(), pool.submit(|| 2).unwrap()];
/// let c = tulip::wait(futs, ReturnWhen::AllCompleted, None);
/// assert_eq!((c.done.len(), c.pending.len()), (2, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnWhen {
    /// As soon as any future is done (`FIRST_COMPLETED`).
    FirstCompleted,
    /// As soon as any future fails with an error other than [`JobError::Cancelled`], else when all are
    /// done (`FIRST_EXCEPTION`).
    FirstError,
    /// When every future is done (`ALL_COMPLETED`).
    AllCompleted,
}

impl ReturnWhen {
    /// Whether a wait can return once a future is done (`failed`: it ended in an error other than a
    /// cancel), before the others are: the one home of the rule for both `wait`s.
    pub(crate) fn met_by(self, failed: bool) -> bool {
        match self {
            ReturnWhen::FirstCompleted => true,
            ReturnWhen::FirstError => failed,
            ReturnWhen::AllCompleted => false,
        }
    }
}

/// What [`wait`] (of [`ConcurrentFuture`]s) and [`tasks::wait`](crate::tasks::wait) (of loop tasks)
/// return: the futures that are done, in completion order, and the others, in the order they were
/// given. Nothing is cancelled.
///
/// # Examples
///
/// ```
/// let futs = vec![tulip::ConcurrentFuture::ready(Ok(1))];
/// let c = tulip::wait(futs, tulip::ReturnWhen::FirstCompleted, None);
/// assert_eq!(c.done.into_iter().next().unwrap().wait(), Ok(1));
/// assert!(c.pending.is_empty());
/// ```
#[derive(Debug)]
pub struct Completed<F> {
    /// The futures that are done (their outcome is decided), in completion order.
    pub done: Vec<F>,
    /// The futures not done when `wait` returned, still running, in the order given.
    pub pending: Vec<F>,
}

/// One completion, as pushed by a done-callback.
#[derive(Clone, Copy)]
struct Done {
    /// The future's index in the caller's sequence.
    index: usize,
    /// It failed with an error other than `Cancelled` (what `FirstError` looks for).
    failed: bool,
}

/// The completion queue shared by the done-callbacks and the waiting thread.
struct Finished {
    state: Mutex<FinishedState>,
    /// Signalled by a producer only when `FinishedState::sleeping` is set.
    cond: Condvar,
}

struct FinishedState {
    /// Completions not yet taken by the waiting thread, oldest first. Each index appears once: a
    /// done-callback runs once.
    queue: VecDeque<Done>,
    /// The waiting thread is (about to be) asleep on the condvar; producers signal only then.
    sleeping: bool,
}

impl Finished {
    /// Hangs a done-callback on every future that pushes its index here.
    fn watch<T: Send + 'static>(futs: &[ConcurrentFuture<T>]) -> Arc<Finished> {
        let finished = Arc::new(Finished {
            state: Mutex::new(FinishedState { queue: VecDeque::with_capacity(futs.len()), sleeping: false }),
            cond: Condvar::new(),
        });
        for (index, fut) in futs.iter().enumerate() {
            // It could never complete while this thread waits: handed back at once, as failed (its
            // own `wait` then gives `WouldDeadlock`).
            if fut.would_deadlock() {
                finished.push(Done { index, failed: true });
                continue;
            }
            let to = finished.clone();
            fut.add_done_callback(move |r| {
                let failed = matches!(r, Err(e) if *e != JobError::Cancelled);
                to.push(Done { index, failed });
            });
        }
        finished
    }

    fn push(&self, done: Done) {
        let mut state = lock(&self.state);
        state.queue.push_back(done);
        let wake = std::mem::take(&mut state.sleeping);
        drop(state);
        if wake {
            self.cond.notify_one();
        }
    }

    /// The next completion, waiting until `deadline` at most (`None` when it passed first).
    fn pop(&self, deadline: Option<Instant>) -> Option<Done> {
        let mut state = lock(&self.state);
        loop {
            if let Some(done) = state.queue.pop_front() {
                return Some(done);
            }
            state.sleeping = true;
            state = match deadline {
                None => self.cond.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left = d.checked_duration_since(Instant::now()).filter(|l| !l.is_zero())?;
                    self.cond.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
    }
}

/// The deadline `timeout` from now; `None` (no deadline) if none is given or it is too far to represent.
fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

/// Blocks until `return_when` holds or `timeout` passes, then returns the futures split into done
/// and pending (Python's `concurrent.futures.wait`). The pending ones are not cancelled.
///
/// A timeout is not an error here: the caller sees it as pending futures. A future that could never
/// complete while this thread blocks (one that needs the loop of this thread, as
/// [`ConcurrentFuture::wait`] explains) counts as done and failed at once; its `wait` gives
/// [`JobError::WouldDeadlock`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip::ReturnWhen;
///
/// let pool = tulip::ThreadPool::builder().max_workers(2).build().unwrap();
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// let slow = pool.submit(move || rx.recv().ok()).unwrap();
/// let fast = pool.submit(|| None).unwrap();
/// let c = tulip::wait(vec![slow, fast], ReturnWhen::FirstCompleted, None);
/// assert_eq!((c.done.len(), c.pending.len()), (1, 1));
/// tx.send(()).unwrap();
/// ```
pub fn wait<T, I>(
    futs: I,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
) -> Completed<ConcurrentFuture<T>>
where
    I: IntoIterator<Item = ConcurrentFuture<T>>,
    T: Send + 'static,
{
    let futs: Vec<ConcurrentFuture<T>> = futs.into_iter().collect();
    let finished = Finished::watch(&futs);
    let deadline = deadline_after(timeout);
    let mut slots: Vec<Option<ConcurrentFuture<T>>> = futs.into_iter().map(Some).collect();
    let mut done = Vec::new();
    while done.len() < slots.len() {
        let Some(d) = finished.pop(deadline) else { break };
        done.extend(slots[d.index].take());
        if return_when.met_by(d.failed) {
            break;
        }
    }
    Completed { done, pending: slots.into_iter().flatten().collect() }
}

/// Yields each future once, as it completes (Python's `concurrent.futures.as_completed`).
///
/// With a `timeout`, the iterator yields `Err(Elapsed)` once when it passes before every future is
/// done, and then ends; [`AsCompleted::into_pending`] gives the futures it did not yield. Futures
/// already done come first, and so do futures that could never complete while this thread blocks
/// (their `wait` gives [`JobError::WouldDeadlock`]).
///
/// # Examples
///
/// ```
/// let pool = tulip::ThreadPool::builder().build().unwrap();
/// let futs: Vec<_> = (0..10u64).map(|i| pool.submit(move || i * i).unwrap()).collect();
/// let mut sum = 0;
/// for fut in tulip::as_completed(futs, None) {
///     sum += fut.unwrap().wait().unwrap();
/// }
/// assert_eq!(sum, 285);
/// ```
pub fn as_completed<T, I>(futs: I, timeout: Option<Duration>) -> AsCompleted<T>
where
    I: IntoIterator<Item = ConcurrentFuture<T>>,
    T: Send + 'static,
{
    let futs: Vec<ConcurrentFuture<T>> = futs.into_iter().collect();
    let finished = Finished::watch(&futs);
    let left = futs.len();
    AsCompleted {
        slots: futs.into_iter().map(Some).collect(),
        finished,
        deadline: deadline_after(timeout),
        left,
        timed_out: false,
    }
}

/// The iterator of [`as_completed`].
///
/// Dropping it drops the futures not yet yielded, as dropping each would: a queued job is removed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let pool = tulip::ThreadPool::builder().build().unwrap();
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// let stuck = pool.submit(move || rx.recv().is_ok()).unwrap();
/// let mut it = tulip::as_completed(vec![stuck], Some(Duration::from_millis(10)));
/// assert_eq!(it.next().map(|r| r.is_err()), Some(true)); // Err(Elapsed)
/// assert!(it.next().is_none());
/// assert_eq!(it.into_pending().len(), 1);
/// tx.send(()).unwrap();
/// ```
pub struct AsCompleted<T> {
    /// The futures not yet yielded, at their index in the caller's sequence.
    slots: Vec<Option<ConcurrentFuture<T>>>,
    finished: Arc<Finished>,
    deadline: Option<Instant>,
    /// How many futures are not yet yielded (the `Some`s in `slots`).
    left: usize,
    /// The deadline passed and `Err(Elapsed)` was yielded: the iterator has ended.
    timed_out: bool,
}

impl<T> AsCompleted<T> {
    /// How many futures are not yet yielded: what a progress bar counts down.
    ///
    /// # Examples
    ///
    /// ```
    /// let it = tulip::as_completed(vec![tulip::ConcurrentFuture::ready(Ok(()))], None);
    /// assert_eq!(it.remaining(), 1);
    /// ```
    pub fn remaining(&self) -> usize {
        self.left
    }

    /// The futures not yet yielded, in the order given; for the caller to keep waiting on or cancel
    /// after a timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let it = tulip::as_completed(vec![tulip::ConcurrentFuture::ready(Ok(()))], None);
    /// assert_eq!(it.into_pending().len(), 1);
    /// ```
    pub fn into_pending(self) -> Vec<ConcurrentFuture<T>> {
        self.slots.into_iter().flatten().collect()
    }
}

impl<T> Iterator for AsCompleted<T> {
    type Item = Result<ConcurrentFuture<T>, Elapsed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 || self.timed_out {
            return None;
        }
        let Some(done) = self.finished.pop(self.deadline) else {
            self.timed_out = true;
            return Some(Err(Elapsed));
        };
        self.left -= 1;
        // Each index is pushed once (one done-callback per future), so the slot is still full.
        self.slots[done.index].take().map(Ok)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match (self.timed_out, self.deadline) {
            (true, _) => (0, Some(0)),
            (false, None) => (self.left, Some(self.left)),
            // Each future, or fewer and one `Err(Elapsed)`.
            (false, Some(_)) => (self.left.min(1), Some(self.left + 1)),
        }
    }
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.left)
            .field("timed_out", &self.timed_out)
            .finish()
    }
}
