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

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_lite::Stream;

use crate::completion::ReturnWhen;
use crate::error::{Elapsed, JobError};
use crate::executor::{Executor, ExecutorJob};
use crate::reactor::{running_loop_for, EventLoop, Sleep, Task};

/// A handle whose work can be cancelled: a [`Task`] or a [`ConcurrentFuture`](crate::ConcurrentFuture).
///
/// # Examples
///
/// ```
/// use tulip::tasks::Cancel;
/// let fut = tulip::ConcurrentFuture::ready(Ok(1));
/// assert!(!Cancel::cancel(&fut)); // done with a value: nothing to cancel
/// ```
pub trait Cancel {
    /// Requests cancellation, as the handle's own `cancel` does.
    fn cancel(&self) -> bool;
}

impl<T> Cancel for Task<T> {
    fn cancel(&self) -> bool {
        Task::cancel(self)
    }
}

impl<T: Send + 'static> Cancel for crate::ConcurrentFuture<T> {
    fn cancel(&self) -> bool {
        crate::ConcurrentFuture::cancel(self)
    }
}

/// Owns `handle`: dropping the returned future before it completes cancels the work instead of
/// detaching it. For a [`Task`] or a pool job handed to [`gather`], [`TaskGroup`] and the others.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// tulip::run(async {
///     let task = tulip::get_running_loop().spawn(std::future::pending::<()>());
///     // The timeout drops the `Owned` future, which cancels the task.
///     let r = tulip::timeout(Duration::from_millis(1), tulip::tasks::owned(task)).await;
///     assert!(r.is_err());
/// });
/// ```
pub fn owned<F: Future + Cancel + Unpin>(handle: F) -> Owned<F> {
    Owned { handle, finished: false }
}

/// The future of [`owned`].
///
/// # Examples
///
/// ```
/// let fut = tulip::tasks::owned(tulip::ConcurrentFuture::ready(Ok(2)));
/// assert_eq!(futures_lite::future::block_on(fut), Ok(2));
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Owned<F: Cancel> {
    handle: F,
    /// The handle gave its output: nothing left to cancel.
    finished: bool,
}

impl<F: Future + Cancel + Unpin> Future for Owned<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let out = std::task::ready!(Pin::new(&mut self.handle).poll(cx));
        self.finished = true;
        Poll::Ready(out)
    }
}

impl<F: Cancel> Drop for Owned<F> {
    fn drop(&mut self) {
        if !self.finished {
            self.handle.cancel();
        }
    }
}

/// What a child reports when its future is gone.
#[derive(Clone, Copy)]
struct Done {
    index: usize,
    /// It returned `Err` or panicked (what [`ReturnWhen::FirstError`] looks for); a cancelled child has
    /// not failed.
    failed: bool,
}

/// Completions not yet seen by the owner, and the owner's waker.
#[derive(Default)]
struct Board {
    /// Oldest first; each child's index appears once.
    done: VecDeque<Done>,
    waker: Option<Waker>,
}

/// Held by a child's task for as long as the child's future exists.
struct Notify {
    board: Rc<RefCell<Board>>,
    index: usize,
    /// The output was `Err`; a panic is detected while unwinding.
    failed: bool,
}

impl Drop for Notify {
    fn drop(&mut self) {
        let failed = self.failed || std::thread::panicking();
        let mut board = self.board.borrow_mut();
        board.done.push_back(Done { index: self.index, failed });
        let waker = board.waker.take();
        drop(board);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A child's task: its output is its future's.
type Child<T, E> = Task<Result<T, E>>;

/// Tasks spawned for one owner, each reporting on a shared board when it ends. Dropping it cancels
/// the children still running.
struct Children<T, E> {
    /// The children's tasks not yet handed back, at their spawn index.
    tasks: Vec<Option<Task<Result<T, E>>>>,
    board: Rc<RefCell<Board>>,
    /// How many tasks are not yet handed back (the `Some`s in `tasks`).
    left: usize,
}

impl<T: 'static, E: 'static> Children<T, E> {
    fn new() -> Self {
        Children { tasks: Vec::new(), board: Rc::default(), left: 0 }
    }

    /// Spawns every future of `futs` on the running loop; `what` and `at` name the call for the
    /// panic when no loop runs here.
    fn of<I, F>(futs: I, what: &str, at: &'static Location<'static>) -> Self
    where
        I: IntoIterator<Item = F>,
        F: Future<Output = Result<T, E>> + 'static,
    {
        let lp = running_loop_for(format_args!("{what} at {at}"));
        let mut children = Children::new();
        for fut in futs {
            children.spawn(&lp, fut);
        }
        children
    }

    fn spawn<F>(&mut self, lp: &EventLoop, fut: F)
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        let notify = Notify { board: self.board.clone(), index: self.tasks.len(), failed: false };
        let task = lp.spawn(async move {
            // Moved in whole (not just the field written below), so it lives as long as `fut`.
            let mut notify = notify;
            let out = fut.await;
            notify.failed = out.is_err();
            out
        });
        self.tasks.push(Some(task));
        self.left += 1;
    }

    /// The next child to end, with its index; `None` when all were handed back.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(Done, Child<T, E>)>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let mut board = self.board.borrow_mut();
        while let Some(done) = board.done.pop_front() {
            if let Some(task) = self.tasks[done.index].take() {
                self.left -= 1;
                return Poll::Ready(Some((done, task)));
            }
        }
        board.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// The children not yet handed back, in spawn order.
    fn take_pending(&mut self) -> Vec<Task<Result<T, E>>> {
        self.left = 0;
        self.tasks.iter_mut().filter_map(Option::take).collect()
    }
}

impl<T, E> Children<T, E> {
    /// Cancels every child not yet handed back.
    fn cancel_all(&self) {
        for task in self.tasks.iter().flatten() {
            task.cancel();
        }
    }
}

impl<T, E> Drop for Children<T, E> {
    fn drop(&mut self) {
        self.cancel_all();
    }
}

/// The output of a child that has ended (its task's output is stored before its `Notify` is seen).
async fn outcome<T, E: From<JobError>>(task: Task<Result<T, E>>) -> Result<T, E> {
    task.await.unwrap_or_else(|e| Err(E::from(e)))
}

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
    let at = Location::caller();
    async move {
        let mut children = Children::of(futs, "tulip::gather", at);
        let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None).take(children.left).collect();
        while let Some((done, task)) = std::future::poll_fn(|cx| children.poll_next(cx)).await {
            match outcome(task).await {
                Ok(v) => slots[done.index] = Some(v),
                Err(e) => return Err(e),
            }
        }
        Ok(slots.into_iter().flatten().collect())
    }
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
    let at = Location::caller();
    async move {
        let mut children = Children::of(futs, "tulip::tasks::gather_settled", at);
        let mut slots: Vec<Option<Result<T, E>>> =
            std::iter::repeat_with(|| None).take(children.left).collect();
        while let Some((done, task)) = std::future::poll_fn(|cx| children.poll_next(cx)).await {
            slots[done.index] = Some(outcome(task).await);
        }
        slots.into_iter().flatten().collect()
    }
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
            let enough = match return_when {
                ReturnWhen::FirstCompleted => true,
                ReturnWhen::FirstError => d.failed,
                ReturnWhen::AllCompleted => false,
            };
            if enough {
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

/// Runs `jobs` on `executor` from the loop, at most `in_flight` at a time, and yields their outcomes
/// in completion order: the awaitable, unordered `map` of both pools.
///
/// A job is a closure for a [`ThreadPool`](crate::ThreadPool) and a `(fn, argument)` pair for a
/// `ProcessPool`, as for [`EventLoop::run_in_executor`]. The next job is submitted only when one
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

/// Tasks that end together (asyncio's `TaskGroup`, trio's nursery): [`join`](Self::join) waits for
/// every child; the first failure cancels the others and `join` reports it, with every other error.
///
/// Dropping the group, or cancelling the task that awaits `join`, cancels the children still running,
/// so no child outlives its owner. A child that was cancelled (by the group or by anyone) is not a
/// failure, as in asyncio.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// tulip::run(async {
///     let mut group = tulip::TaskGroup::<u8, Box<dyn std::error::Error>>::new();
///     group.spawn(async { Ok(1) });
///     group.spawn(async { Err("no".into()) });
///     group.spawn(async { tulip::sleep(Duration::from_secs(60)).await; Ok(3) }); // cancelled
///     let err = group.join().await.unwrap_err();
///     assert_eq!(err.first().to_string(), "no");
/// });
/// ```
pub struct TaskGroup<T, E> {
    children: Children<T, E>,
}

impl<T: 'static, E: From<JobError> + 'static> TaskGroup<T, E> {
    /// An empty group.
    ///
    /// # Examples
    ///
    /// ```
    /// let group: tulip::TaskGroup<(), tulip::JobError> = tulip::TaskGroup::new();
    /// assert!(group.is_empty());
    /// ```
    pub fn new() -> Self {
        TaskGroup { children: Children::new() }
    }

    /// Spawns `fut` as a child task on the running loop; it starts at once.
    ///
    /// # Panics
    ///
    /// When no tulip loop runs on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut group = tulip::TaskGroup::<u8, tulip::JobError>::new();
    ///     group.spawn(async { Ok(1) });
    ///     assert_eq!(group.join().await.unwrap(), [1]);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, fut: F)
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        let lp = running_loop_for(format_args!("TaskGroup::spawn at {}", Location::caller()));
        self.children.spawn(&lp, fut);
    }

    /// How many children the group has spawned and not yet joined.
    ///
    /// # Examples
    ///
    /// ```
    /// let group: tulip::TaskGroup<(), tulip::JobError> = tulip::TaskGroup::new();
    /// assert_eq!(group.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.children.left
    }

    /// Whether the group has no child to join.
    ///
    /// # Examples
    ///
    /// ```
    /// let group: tulip::TaskGroup<(), tulip::JobError> = tulip::TaskGroup::new();
    /// assert!(group.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.children.left == 0
    }

    /// Waits for every child and returns their outputs in spawn order, or, if any failed, the
    /// errors in the order they came (after cancelling the other children at the first one).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let pool = tulip::ThreadPool::builder().build().unwrap();
    ///     let mut group = tulip::TaskGroup::new();
    ///     for i in 0..3u32 {
    ///         group.spawn(pool.submit(move || i * 10).unwrap());
    ///     }
    ///     assert_eq!(group.join().await, Ok(vec![0, 10, 20]));
    /// });
    /// ```
    pub async fn join(mut self) -> Result<Vec<T>, GroupError<E>> {
        let children = &mut self.children;
        let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None).take(children.tasks.len()).collect();
        let mut errors = Vec::new();
        while let Some((done, task)) = std::future::poll_fn(|cx| children.poll_next(cx)).await {
            let error = match task.await {
                Ok(Ok(v)) => {
                    slots[done.index] = Some(v);
                    continue;
                }
                Ok(Err(e)) => e,
                Err(JobError::Cancelled) => continue,
                Err(e) => E::from(e),
            };
            if errors.is_empty() {
                children.cancel_all();
            }
            errors.push(error);
        }
        match errors.is_empty() {
            true => Ok(slots.into_iter().flatten().collect()),
            false => Err(GroupError { errors }),
        }
    }
}

impl<T: 'static, E: From<JobError> + 'static> Default for TaskGroup<T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup").field("children", &self.children.left).finish()
    }
}

/// The failures of a [`TaskGroup`]'s children, in the order they came (asyncio's `ExceptionGroup`);
/// never empty.
///
/// # Examples
///
/// ```
/// tulip::run(async {
///     let mut group = tulip::TaskGroup::<(), _>::new();
///     group.spawn(async { Err(tulip::JobError::ShutDown) });
///     let err = group.join().await.unwrap_err();
///     assert_eq!(err.errors(), [tulip::JobError::ShutDown]);
///     assert_eq!(err.to_string(), "1 task of the group failed; the first: the pool was shut down before the job finished");
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupError<E> {
    /// At least one error; the first is the one that cancelled the siblings.
    errors: Vec<E>,
}

impl<E> GroupError<E> {
    /// The first failure, the one that cancelled the other children.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut group = tulip::TaskGroup::<(), _>::new();
    ///     group.spawn(async { Err(tulip::JobError::Cancelled) });
    ///     assert_eq!(group.join().await.unwrap_err().first(), &tulip::JobError::Cancelled);
    /// });
    /// ```
    pub fn first(&self) -> &E {
        &self.errors[0]
    }

    /// Every failure, in the order they came.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut group = tulip::TaskGroup::<(), _>::new();
    ///     group.spawn(async { Err(tulip::JobError::ShutDown) });
    ///     assert_eq!(group.join().await.unwrap_err().errors().len(), 1);
    /// });
    /// ```
    pub fn errors(&self) -> &[E] {
        &self.errors
    }

    /// Every failure, owned.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut group = tulip::TaskGroup::<(), _>::new();
    ///     group.spawn(async { Err(tulip::JobError::ShutDown) });
    ///     assert_eq!(group.join().await.unwrap_err().into_errors(), [tulip::JobError::ShutDown]);
    /// });
    /// ```
    pub fn into_errors(self) -> Vec<E> {
        self.errors
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "{n} task{} of the group failed; the first: {}",
            if n == 1 { "" } else { "s" },
            self.first()
        )
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GroupError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.first())
    }
}
