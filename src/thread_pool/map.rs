//! [`PoolMap`]: the ordered, bounded iterator behind [`ThreadPool::map`](super::ThreadPool::map).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use super::ThreadPool;
use crate::error::{JobError, SubmitError};
use crate::future::ConcurrentFuture;

/// The results of [`ThreadPool::map`], in the order of the items.
///
/// Each `next()` submits items until `in_flight` jobs are outstanding, then waits for the oldest. A
/// job that failed yields its error in its place; an item the pool refused (it was shut down, or is
/// broken) yields `Err(JobError::ShutDown)` (or `Err(JobError::Initializer)`). Dropping the iterator
/// cancels the jobs that have not started. It holds a handle to the pool, so it may outlive the
/// `ThreadPool` it came from.
///
/// # Examples
///
/// ```
/// let pool = tulip::ThreadPool::builder().max_workers(2).build().unwrap();
/// let mut it = pool.map(|x: i32| x * 2, vec![1, 2, 3]).in_flight(2);
/// assert_eq!(it.next(), Some(Ok(2)));
/// assert_eq!(it.collect::<Vec<_>>(), [Ok(4), Ok(6)]);
/// ```
pub struct PoolMap<I, F, R> {
    pool: ThreadPool,
    f: Arc<F>,
    items: I,
    in_flight: Window<ConcurrentFuture<R>>,
}

impl<I, F, R> PoolMap<I, F, R> {
    pub(super) fn new(pool: ThreadPool, f: Arc<F>, items: I, limit: usize) -> Self {
        PoolMap { pool, f, items, in_flight: Window::new(limit.max(1)) }
    }

    /// At most `n` jobs submitted and not yet yielded (0 counts as 1); the default is
    /// `2 × max_workers`. Set it before iterating: jobs already submitted stay in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulip::ThreadPool::builder().build().unwrap();
    /// let v: Vec<u32> = pool.map(|x: u32| x + 1, 0..100).in_flight(4).map(Result::unwrap).collect();
    /// assert_eq!(v, (1..=100).collect::<Vec<_>>());
    /// ```
    pub fn in_flight(mut self, n: usize) -> Self {
        self.in_flight.set_limit(n);
        self
    }
}

/// The ordered, bounded window of an ordered `map` (this one's, and `ProcessPool::map`'s): jobs
/// are submitted lazily, as results are taken, and yielded in submission order.
pub(crate) struct Window<E> {
    /// Submitted and not yet yielded, oldest first; never longer than `limit`.
    in_flight: VecDeque<E>,
    limit: usize,
}

impl<E> Window<E> {
    pub(crate) fn new(limit: usize) -> Self {
        Window { in_flight: VecDeque::with_capacity(limit.min(1024)), limit }
    }

    /// Submits with `submit` until `limit` jobs are out (or it has nothing more), then takes the
    /// oldest.
    pub(crate) fn next(&mut self, mut submit: impl FnMut() -> Option<E>) -> Option<E> {
        while self.in_flight.len() < self.limit {
            let Some(job) = submit() else { break };
            self.in_flight.push_back(job);
        }
        self.in_flight.pop_front()
    }

    /// Changes the bound (0 counts as 1); jobs already submitted stay in flight.
    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit.max(1);
    }

    /// Jobs submitted and not yet taken.
    pub(crate) fn len(&self) -> usize {
        self.in_flight.len()
    }
}

/// What an item the pool refused yields.
fn refused<R: Send + 'static>(e: SubmitError) -> ConcurrentFuture<R> {
    ConcurrentFuture::ready(Err(e.into_job_error()))
}

impl<I, F, R> Iterator for PoolMap<I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    type Item = Result<R, JobError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (pool, f, items) = (&self.pool, &self.f, &mut self.items);
        let submit = || {
            let (f, item) = (Arc::clone(f), items.next()?);
            Some(pool.submit(move || f(item)).unwrap_or_else(refused))
        };
        self.in_flight.next(submit).map(ConcurrentFuture::wait)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.items.size_hint();
        let n = self.in_flight.len();
        (lo.saturating_add(n), hi.and_then(|h| h.checked_add(n)))
    }
}

impl<I, F, R> fmt::Debug for PoolMap<I, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolMap")
            .field("in_flight", &self.in_flight.len())
            .field("limit", &self.in_flight.limit)
            .finish()
    }
}
