//! [`ProcessMap`]: `ProcessPool::map`, owned, lazy, ordered and bounded in flight.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ProcessPool;
use crate::error::{JobError, SubmitError};
use crate::future::ConcurrentFuture;
use crate::thread_pool::Window;

/// One chunk of a [`ProcessMap`]: its future, or why it could not be submitted; and its size.
enum Chunk<R> {
    Running(ConcurrentFuture<Vec<Result<R, String>>>, usize),
    Failed(JobError, usize),
}

impl<R: Send + 'static> Chunk<R> {
    /// Waits for the chunk and yields one result per item.
    fn results(self) -> Vec<Result<R, JobError>> {
        let (e, n) = match self {
            Chunk::Running(fut, n) => match fut.wait() {
                Ok(v) if v.len() == n => {
                    return v.into_iter().map(|r| r.map_err(JobError::Panicked)).collect()
                }
                Ok(v) => {
                    (JobError::Codec(format!("a chunk of {n} items came back with {} results", v.len())), n)
                }
                Err(e) => (e, n),
            },
            Chunk::Failed(e, n) => (e, n),
        };
        (0..n).map(|_| Err(e.clone())).collect()
    }
}

/// The results of [`ProcessPool::map`], in input order.
///
/// Each item is `Ok(f(item))` or the [`JobError`] of that item: a panic fails only its own item, a
/// worker that dies fails the items of its chunk, and a refusal at submit is yielded in the place
/// of the items it concerns ([`JobError::ShutDown`] after a shutdown, which also stops consuming
/// the input; [`JobError::Codec`] for items that cannot be encoded).
///
/// Options, chained before iterating:
/// - [`chunksize(n)`](Self::chunksize): items per task (default 1; 0 counts as 1), which amortizes
///   the round trip for small items;
/// - [`in_flight(n)`](Self::in_flight): chunks submitted and not yet yielded (default
///   `2 × max_workers`; 0 counts as 1).
///
/// Dropping the map skips the chunks not started yet, including those already sent to a worker; a
/// chunk that runs finishes.
///
/// # Examples
///
/// ```
/// fn half(x: u8) -> u8 {
///     assert!(x % 2 == 0, "odd");
///     x / 2
/// }
///
/// fn main() {
///     tulip::process::init();
///     let pool = tulip::ProcessPool::builder().max_workers(1).build().unwrap();
///     let out: Vec<_> = pool.map(half, [2, 3, 4]).chunksize(3).in_flight(1).collect();
///     assert_eq!(out[0], Ok(1));
///     assert_eq!(out[1], Err(tulip::JobError::Panicked("odd".into())));
///     assert_eq!(out[2], Ok(2));
/// }
/// ```
pub struct ProcessMap<A, R, I> {
    pool: ProcessPool,
    f: fn(A) -> R,
    /// `None` once exhausted, or once the pool refused a chunk for a shutdown.
    items: Option<I>,
    /// Items per task; at least 1.
    chunksize: usize,
    /// Chunks submitted and not yet yielded, at most `in_flight` (at least 1); created by the
    /// first `next()`, so the options can still change it before.
    window: Option<Window<Chunk<R>>>,
    in_flight: usize,
    /// Results of the oldest chunk not yet yielded.
    ready: std::vec::IntoIter<Result<R, JobError>>,
    _a: PhantomData<fn(A)>,
}

impl<A, R, I> ProcessMap<A, R, I> {
    pub(super) fn new(pool: ProcessPool, f: fn(A) -> R, items: I) -> Self {
        let in_flight = 2 * pool.max_workers();
        ProcessMap {
            pool,
            f,
            items: Some(items),
            chunksize: 1,
            window: None,
            in_flight,
            ready: Vec::new().into_iter(),
            _a: PhantomData,
        }
    }

    /// Sends `n` items per task (default 1; 0 counts as 1).
    ///
    /// # Examples
    ///
    /// ```
    /// fn inc(x: u64) -> u64 {
    ///     x + 1
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().max_workers(2).build().unwrap();
    ///     let sum: u64 = pool.map(inc, 0..1000).chunksize(100).map(Result::unwrap).sum();
    ///     assert_eq!(sum, 500_500);
    /// }
    /// ```
    pub fn chunksize(mut self, n: usize) -> Self {
        self.chunksize = n.max(1);
        self
    }

    /// Keeps at most `n` chunks submitted and not yet yielded (default `2 × max_workers`; 0 counts
    /// as 1). Has no effect once iteration started.
    ///
    /// # Examples
    ///
    /// ```
    /// fn id(x: u8) -> u8 {
    ///     x
    /// }
    ///
    /// fn main() {
    ///     tulip::process::init();
    ///     let pool = tulip::ProcessPool::builder().max_workers(2).build().unwrap();
    ///     let out: Vec<_> = pool.map(id, [1, 2, 3]).in_flight(1).collect();
    ///     assert_eq!(out, vec![Ok(1), Ok(2), Ok(3)]);
    /// }
    /// ```
    pub fn in_flight(mut self, n: usize) -> Self {
        self.in_flight = n.max(1);
        self
    }
}

/// Submits the next chunk of `items` (`None` once there is none).
fn submit_chunk<A, R, I>(
    pool: &ProcessPool,
    f: fn(A) -> R,
    items: &mut Option<I>,
    chunksize: usize,
) -> Option<Chunk<R>>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    let chunk: Vec<A> = items.as_mut()?.take(chunksize).collect();
    if chunk.is_empty() {
        *items = None;
        return None;
    }
    let n = chunk.len();
    Some(match pool.submit_chunk(f, &chunk) {
        Ok(fut) => Chunk::Running(fut, n),
        Err(e) => {
            if matches!(e, SubmitError::ShutDown | SubmitError::Broken(_)) {
                // Nothing more will run: stop consuming the input (it may be endless).
                *items = None;
            }
            Chunk::Failed(e.into_job_error(), n)
        }
    })
}

impl<A, R, I> Iterator for ProcessMap<A, R, I>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    type Item = Result<R, JobError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.ready.next() {
                return Some(r);
            }
            let (pool, f, items, chunksize) = (&self.pool, self.f, &mut self.items, self.chunksize);
            let window = self.window.get_or_insert_with(|| Window::new(self.in_flight));
            let chunk = window.next(|| submit_chunk(pool, f, items, chunksize))?;
            self.ready = chunk.results().into_iter();
        }
    }
}

impl<A, R, I> fmt::Debug for ProcessMap<A, R, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessMap")
            .field("chunksize", &self.chunksize)
            .field("in_flight", &self.in_flight)
            .field("chunks_in_flight", &self.window.as_ref().map_or(0, Window::len))
            .field("exhausted", &self.items.is_none())
            .finish()
    }
}
