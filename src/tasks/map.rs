//! [`map_unordered`]: the awaitable, completion-ordered map of both pools.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::Stream;

use super::children::Children;
use super::poll_current;
use crate::error::JobError;
use crate::executor::{Executor, ExecutorJob};
use crate::reactor::{running_loop_for, Task};

/// Runs `jobs` on `executor` from the loop, at most `in_flight` at a time, and yields their outcomes
/// in completion order: the awaitable, unordered `map` of both pools.
///
/// A job is a closure for a [`ThreadPool`](crate::ThreadPool) and a `(fn, argument)` pair for a
/// `ProcessPool`, as for [`EventLoop::run_in_executor`](crate::EventLoop::run_in_executor). The next job is submitted only when one
/// ends, so a long iterator never floods the pool's queue; `in_flight` of 0 counts as 1. Submitting
/// never blocks the loop for a thread pool; a process pool with a full bounded queue blocks while it
/// waits for room, so keep `in_flight` within its queue capacity. Dropping the stream cancels the jobs
/// in flight.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
/// tulip::run(async {
///     let pool = tulip::ThreadPool::builder().max_workers(2).build().unwrap();
///     let jobs = (1..=10u64).map(|i| move || i * i);
///     let mut sum = 0;
///     let mut results = tulip::tasks::map_unordered(&pool, jobs, 4);
///     while let Some(r) = results.next().await {
///         sum += r.unwrap();
///     }
///     assert_eq!(sum, 385);
/// });
/// ```
pub fn map_unordered<X, J, I>(executor: &X, jobs: I, in_flight: usize) -> MapUnordered<X, J, I::IntoIter>
where
    X: Executor<J> + Clone,
    J: ExecutorJob<Executor = X>,
    I: IntoIterator<Item = J>,
    X::Output: Send + 'static,
{
    MapUnordered {
        executor: executor.clone(),
        jobs: jobs.into_iter(),
        limit: in_flight.max(1),
        children: Children::new(),
        current: None,
    }
}

/// The stream of [`map_unordered`].
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
/// tulip::run(async {
///     let pool = tulip::ThreadPool::builder().build().unwrap();
///     let out: Vec<_> = tulip::tasks::map_unordered(&pool, [|| 1], 1).collect().await;
///     assert_eq!(out, [Ok(1)]);
/// });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct MapUnordered<X: Executor<J>, J, I> {
    executor: X,
    /// The jobs not yet submitted.
    jobs: I,
    /// At most this many children (submitted jobs not yet yielded) at a time; at least 1.
    limit: usize,
    children: Children<X::Output, JobError>,
    /// A child that ended, whose output is being taken.
    current: Option<Task<Result<X::Output, JobError>>>,
}

impl<X, J, I> Stream for MapUnordered<X, J, I>
where
    X: Executor<J> + Unpin,
    J: ExecutorJob<Executor = X>,
    I: Iterator<Item = J> + Unpin,
    X::Output: Send + 'static,
{
    type Item = Result<X::Output, JobError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(out) = std::task::ready!(poll_current(&mut this.current, cx)) {
            return Poll::Ready(Some(out));
        }
        let lp = running_loop_for(format_args!("tulip::tasks::map_unordered"));
        while this.children.left < this.limit {
            let Some(job) = this.jobs.next() else { break };
            let fut = job.submit_from_loop(&this.executor, &lp);
            this.children.spawn(&lp, fut);
        }
        match std::task::ready!(this.children.poll_next(cx)) {
            Some((_, task)) => {
                this.current = Some(task);
                poll_current(&mut this.current, cx)
            }
            None => Poll::Ready(None),
        }
    }
}

impl<X: Executor<J>, J, I> fmt::Debug for MapUnordered<X, J, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapUnordered")
            .field("in_flight", &self.children.left)
            .field("limit", &self.limit)
            .finish()
    }
}
