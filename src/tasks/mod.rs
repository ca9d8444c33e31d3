//! Waiting on many futures on the loop: [`gather`], [`wait`], [`as_completed`] and [`TaskGroup`], as in
//! asyncio's `tasks.py` and `taskgroups.py`.
//!
//! Each works with any future whose output is a `Result` ([`Task`], [`ConcurrentFuture`](crate::ConcurrentFuture),
//! an `async` block): as in asyncio, each future is wrapped in a task of the running loop, so it makes
//! progress on its own and can be cancelled. The error type `E` must convert from [`JobError`], which is
//! how a child that panicked or was cancelled reports (`JobError` itself, `Box<dyn Error>` and
//! `anyhow::Error` all do).
//!
//! # Cancellation
//!
//! Cancelling a child cancels its task, which drops the future it runs: a
//! [`ConcurrentFuture`](crate::ConcurrentFuture)'s queued job is removed, a running thread job's
//! [`CancelToken`](crate::CancelToken) is set, a process-pool job is stopped. A [`Task`] handed in is
//! awaited by the wrapper, not owned by it: dropping it detaches the task. Wrap the task in [`owned`]
//! to have it cancelled with the wrapper, or give the group the task's future instead of the task.
//!
//! # Implementation
//!
//! `Children` is the one mechanism: each child's task holds a `Notify` that, when the child's
//! future is gone (finished, cancelled or unwound by a panic), pushes the child's index on a shared
//! board and wakes the owner. The owner then polls only that child's task, whose output is stored by
//! then. No future is polled just to find out whether it is done.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::Stream;

use crate::completion::ReturnWhen;
use crate::error::{Elapsed, JobError};
use crate::reactor::{Sleep, Task};

use children::{outcome, Children, Done};

mod children;
mod group;
mod map;
mod owned;

pub use group::{GroupError, TaskGroup};
pub use map::{map_unordered, MapUnordered};
pub use owned::{owned, Cancel, Owned};

/// Runs `futs` concurrently and returns their outputs in the order given (asyncio's `gather`).
///
/// At the first error the others are cancelled and that error is returned; [`gather_settled`] returns
/// every outcome instead. Must be awaited on a tulip loop.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// tulip::run(async {
///     let pool = tulip::ThreadPool::builder().build().unwrap();
///     let futs = (1..=3u32).map(|i| pool.submit(move || i * 10).unwrap());
///     assert_eq!(tulip::gather(futs).await, Ok(vec![10, 20, 30]));
///
///     // Futures of different types: box them.
///     let slow = async { tulip::sleep(Duration::from_millis(5)).await; Ok::<u8, tulip::JobError>(1) };
///     let fast = async { Ok(2) };
///     let futs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = _>>>> =
///         vec![Box::pin(slow), Box::pin(fast)];
///     assert_eq!(tulip::gather(futs).await, Ok(vec![1, 2]));
/// });
/// ```
#[track_caller]
pub fn gather<I, F, T, E>(futs: I) -> impl Future<Output = Result<Vec<T>, E>>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: From<JobError> + 'static,
{
    in_order(futs, "tulip::gather", Location::caller(), |r| r)
}

/// Runs `futs` concurrently and returns every outcome in the order given (asyncio's
/// `gather(..., return_exceptions=True)`): one failure cancels nothing.
///
/// # Examples
///
/// ```
/// tulip::run(async {
///     let pool = tulip::ThreadPool::builder().build().unwrap();
///     let futs = vec![pool.submit(|| 1).unwrap(), pool.submit(|| panic!("no")).unwrap()];
///     let all = tulip::tasks::gather_settled(futs).await;
///     assert_eq!(all[0], Ok(1));
///     assert!(matches!(all[1], Err(tulip::JobError::Panicked(_))));
/// });
/// ```
#[track_caller]
pub fn gather_settled<I, F, T, E>(futs: I) -> impl Future<Output = Vec<Result<T, E>>>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: From<JobError> + 'static,
{
    let settled =
        in_order(futs, "tulip::tasks::gather_settled", Location::caller(), Ok::<_, std::convert::Infallible>);
    async move {
        match settled.await {
            Ok(all) => all,
            Err(never) => match never {},
        }
    }
}

/// Runs `futs` as children (spawned at the first poll, so that `tulip::run(gather(..))` works) and
/// returns their outcomes in the order given, each passed through `keep`; the first `Err` that
/// `keep` returns ends the wait (dropping the children cancels the rest). Both `gather`s in one place.
async fn in_order<I, F, T, E, R, X>(
    futs: I,
    what: &'static str,
    at: &'static Location<'static>,
    mut keep: impl FnMut(Result<T, E>) -> Result<R, X>,
) -> Result<Vec<R>, X>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: From<JobError> + 'static,
{
    let mut children = Children::of(futs, what, at);
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(children.left).collect();
    while let Some((done, task)) = std::future::poll_fn(|cx| children.poll_next(cx)).await {
        slots[done.index] = Some(keep(outcome(task).await)?);
    }
    Ok(slots.into_iter().flatten().collect())
}

/// What the owner sees next: a child that ended, the end of the children, or the deadline.
enum Next<T, E> {
    Child(Done, Task<Result<T, E>>),
    AllDone,
    Elapsed,
}

/// The next child to end, unless the deadline (`sleep`) comes first.
fn poll_until<T: 'static, E: 'static>(
    children: &mut Children<T, E>,
    sleep: &mut Option<Pin<Box<Sleep>>>,
    cx: &mut Context<'_>,
) -> Poll<Next<T, E>> {
    match children.poll_next(cx) {
        Poll::Ready(Some((done, task))) => return Poll::Ready(Next::Child(done, task)),
        Poll::Ready(None) => return Poll::Ready(Next::AllDone),
        Poll::Pending => {}
    }
    match sleep.as_mut().map(|s| s.as_mut().poll(cx)) {
        Some(Poll::Ready(())) => Poll::Ready(Next::Elapsed),
        _ => Poll::Pending,
    }
}

/// Runs `futs` as tasks and waits until `return_when` holds or `timeout` passes (asyncio's `wait`).
///
/// Returns the tasks split into done (in completion order) and pending (in the order given); the
/// pending ones run on and are not cancelled. Awaiting a done task gives its output at once.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip::{Completed, ReturnWhen};
///
/// tulip::run(async {
///     let slow = async { tulip::sleep(Duration::from_secs(60)).await; Ok::<u8, tulip::JobError>(1) };
///     let fast = async { Ok(2) };
///     let futs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = _>>>> =
///         vec![Box::pin(slow), Box::pin(fast)];
///     let Completed { done, pending } = tulip::tasks::wait(futs, ReturnWhen::FirstCompleted, None).await;
///     assert_eq!(pending.len(), 1);
///     assert_eq!(done.into_iter().next().unwrap().await, Ok(Ok(2)));
///     pending[0].cancel();
/// });
/// ```
#[track_caller]
pub fn wait<I, F, T, E>(
    futs: I,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
) -> impl Future<Output = crate::Completed<Task<Result<T, E>>>>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    let at = Location::caller();
    async move {
        let mut children = Children::of(futs, "tulip::tasks::wait", at);
        let mut sleep = timeout.map(|d| Box::pin(crate::sleep(d)));
        let mut done = Vec::new();
        while let Next::Child(d, task) =
            std::future::poll_fn(|cx| poll_until(&mut children, &mut sleep, cx)).await
        {
            done.push(task);
            if return_when.met_by(d.failed) {
                break;
            }
        }
        crate::Completed { done, pending: children.take_pending() }
    }
}

/// Runs `futs` as tasks and yields their outputs in completion order (asyncio's `as_completed`).
///
/// With a `timeout`, the stream yields `Err(Elapsed)` once if it passes before every output came, and
/// then ends. Dropping the stream cancels the children it still holds.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use futures_lite::StreamExt;
///
/// tulip::run(async {
///     let futs = [30u64, 10, 20].map(|ms| async move {
///         tulip::sleep(Duration::from_millis(ms)).await;
///         Ok::<u64, tulip::JobError>(ms)
///     });
///     let order: Vec<u64> = tulip::tasks::as_completed(futs, None)
///         .map(|r| r.unwrap().unwrap())
///         .collect()
///         .await;
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
#[track_caller]
pub fn as_completed<I, F, T, E>(futs: I, timeout: Option<Duration>) -> AsCompleted<T, E>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: From<JobError> + 'static,
{
    let at = Location::caller();
    let futs: Vec<F> = futs.into_iter().collect();
    AsCompleted {
        start: Some(Box::new(move || Children::of(futs, "tulip::tasks::as_completed", at))),
        children: Children::new(),
        sleep: timeout.map(|d| Box::pin(crate::sleep(d))),
        current: None,
        timed_out: false,
    }
}

/// The stream of [`as_completed`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use futures_lite::StreamExt;
///
/// tulip::run(async {
///     let stuck = async { tulip::sleep(Duration::from_secs(60)).await; Ok::<(), tulip::JobError>(()) };
///     let mut s = tulip::tasks::as_completed([stuck], Some(Duration::from_millis(5)));
///     assert_eq!(s.next().await, Some(Err(tulip::Elapsed)));
///     assert_eq!(s.next().await, None);
/// });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<T, E> {
    /// Spawns the children at the first poll, so that the stream can be made off the loop.
    start: Option<Box<dyn FnOnce() -> Children<T, E>>>,
    children: Children<T, E>,
    /// The deadline, if a timeout was given.
    sleep: Option<Pin<Box<Sleep>>>,
    /// A child that ended, whose output is being taken.
    current: Option<Task<Result<T, E>>>,
    /// `Err(Elapsed)` was yielded: the stream has ended.
    timed_out: bool,
}

impl<T: 'static, E: From<JobError> + 'static> Stream for AsCompleted<T, E> {
    type Item = Result<Result<T, E>, Elapsed>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(start) = this.start.take() {
            this.children = start();
        }
        loop {
            if let Some(out) = std::task::ready!(poll_current(&mut this.current, cx)) {
                return Poll::Ready(Some(Ok(out)));
            }
            if this.timed_out {
                return Poll::Ready(None);
            }
            match std::task::ready!(poll_until(&mut this.children, &mut this.sleep, cx)) {
                Next::Child(_, task) => this.current = Some(task),
                Next::AllDone => return Poll::Ready(None),
                Next::Elapsed => {
                    this.timed_out = true;
                    return Poll::Ready(Some(Err(Elapsed)));
                }
            }
        }
    }
}

impl<T, E> fmt::Debug for AsCompleted<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted").field("remaining", &self.children.left).finish()
    }
}

/// The output of the child being taken, if any (it ended, so this is ready at once).
fn poll_current<T, E: From<JobError>>(
    current: &mut Option<Task<Result<T, E>>>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<T, E>>> {
    let Some(task) = current else { return Poll::Ready(None) };
    let out = std::task::ready!(Pin::new(task).poll(cx));
    *current = None;
    Poll::Ready(Some(out.unwrap_or_else(|e| Err(E::from(e)))))
}
