//! Tasks: futures the loop drives to completion, whether or not anyone awaits them.
//!
//! # Implementation
//!
//! `async-task` allocates each task once and provides its wakers. The loop keeps every live task's
//! `async_task::Task` handle in a map, so `close()` can drop every pending future on the loop's own
//! thread (which `spawn_local` requires). The user's [`Task`] is a separate, tiny handle to the outcome,
//! so dropping it detaches the task instead of cancelling it (asyncio's semantics, not async-task's).
//!
//! A task's future is wrapped in [`TaskFuture`], which on every poll checks the task's
//! [`CancelSignal`] (cancellation drops the inner future: Rust's equivalent of throwing
//! `CancelledError` in), catches panics and reports them to the exception handler, and hands the
//! outcome to its [`Sink`]: the [`Task`] handle, or the promise of a `spawn_threadsafe` call.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use async_task::Runnable;
use atomic_waker::AtomicWaker;

use super::{EventLoop, LoopInner};
use crate::error::{panic_message, JobError};
use crate::future::Promise;
use crate::handle::{Inbound, Shared};

/// The loop's record of a live task.
pub(crate) struct TaskEntry {
    /// Dropping it cancels the task; it is detached when the task completes.
    pub(crate) handle: async_task::Task<(), u64>,
    pub(crate) location: &'static Location<'static>,
    /// The task's cancellation request: set means the task is on its way out, not pending.
    pub(crate) signal: Arc<CancelSignal>,
}

/// Cancellation request for a task, settable from any thread.
#[derive(Default)]
pub(crate) struct CancelSignal {
    requested: AtomicBool,
    /// The request comes from the loop's shutdown: the outcome is "loop closed", not "cancelled".
    closing: AtomicBool,
    /// The task's waker from its last poll, so a request wakes an idle task.
    waker: AtomicWaker,
}

impl CancelSignal {
    /// Requests cancellation and wakes the task; the task stops at its next poll.
    pub(crate) fn cancel(&self) -> bool {
        self.requested.store(true, Ordering::Release);
        self.waker.wake();
        true
    }

    /// Cancels the task because its loop shuts down (see [`Sink::closed`]).
    pub(crate) fn cancel_for_close(&self) {
        self.closing.store(true, Ordering::Release);
        self.cancel();
    }

    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }
}

/// Where a task's outcome goes.
pub(crate) trait Sink<T> {
    fn done(self, result: Result<T, JobError>);
    /// The future was dropped before finishing and without a cancel request: the loop closed.
    fn closed(self);
}

/// The outcome slot shared by a task and its [`Task`] handle.
struct Slot<T> {
    result: RefCell<Option<Result<T, JobError>>>,
    finished: Cell<bool>,
    joiner: RefCell<Option<Waker>>,
}

impl<T> Sink<T> for Rc<Slot<T>> {
    fn done(self, result: Result<T, JobError>) {
        *self.result.borrow_mut() = Some(result);
        self.finished.set(true);
        // Taken first: the borrow must end before `wake`, which may poll the task again.
        let joiner = self.joiner.borrow_mut().take();
        if let Some(w) = joiner {
            w.wake();
        }
    }
    fn closed(self) {
        self.done(Err(JobError::Cancelled));
    }
}

impl<T: Send + 'static> Sink<T> for Promise<T> {
    fn done(self, result: Result<T, JobError>) {
        self.complete(result);
    }
    fn closed(self) {
        self.complete(Err(JobError::LoopClosed));
    }
}

/// The future a task really runs: the user's future plus cancellation, panic capture and cleanup.
struct TaskFuture<F: Future, S: Sink<F::Output>> {
    /// Pinned in place with the `TaskFuture`; only ever dropped in place (`Pin::set(None)`), never
    /// moved out.
    fut: Option<F>,
    sink: Option<S>,
    signal: Arc<CancelSignal>,
    id: u64,
    lp: Weak<LoopInner>,
    location: &'static Location<'static>,
}

impl<F, S> TaskFuture<F, S>
where
    F: Future,
    S: Sink<F::Output>,
{
    fn finish(&mut self, result: Result<F::Output, JobError>) {
        self.finish_with(|sink| sink.done(result));
    }

    /// Finishes at a cancel request: one from the loop's shutdown reports the loop closed.
    fn finish_cancelled(&mut self) {
        if self.signal.closing.load(Ordering::Acquire) {
            self.finish_with(S::closed);
        } else {
            self.finish(Err(JobError::Cancelled));
        }
    }

    /// Drops the future, forgets the task, then hands the outcome to the sink with `report`.
    fn finish_with(&mut self, report: impl FnOnce(S)) {
        self.drop_future();
        if let Some(lp) = self.lp.upgrade() {
            if let Ok(mut tasks) = lp.tasks.try_borrow_mut() {
                if let Some(entry) = tasks.remove(&self.id) {
                    entry.handle.detach();
                }
            }
        }
        if let Some(sink) = self.sink.take() {
            report(sink);
        }
    }

    /// Drops the inner future in place; a panic in its destructor is reported, not propagated.
    fn drop_future(&mut self) {
        if self.fut.is_some() {
            // SAFETY: the future is dropped where it is, as the pinning contract requires.
            let mut slot = unsafe { Pin::new_unchecked(&mut self.fut) };
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| slot.set(None))) {
                self.report("a task's future panicked while being dropped", &*payload);
            }
        }
    }

    fn report(&self, what: &str, payload: &(dyn std::any::Any + Send)) {
        match self.lp.upgrade() {
            Some(inner) => EventLoop { inner }.report_panic(what, payload, Some(self.location)),
            None => log::error!("tulip: {what}: {} (spawned at {})", panic_message(payload), self.location),
        }
    }
}

impl<F, S> Future for TaskFuture<F, S>
where
    F: Future,
    S: Sink<F::Output>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: nothing is moved out of `self`: `fut` is polled in place and dropped in place.
        let this = unsafe { self.get_unchecked_mut() };
        if this.sink.is_none() {
            return Poll::Ready(());
        }
        if this.signal.is_requested() {
            this.finish_cancelled();
            return Poll::Ready(());
        }
        this.signal.waker.register(cx.waker());
        let Some(fut) = this.fut.as_mut() else { return Poll::Ready(()) };
        // SAFETY: `fut` stays in place inside the pinned `TaskFuture` until it is dropped.
        let fut = unsafe { Pin::new_unchecked(fut) };
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => {
                // A cancel request that arrived (from another thread) while this poll ran was
                // answered `true`, "will not produce a value": keep that promise, as asyncio keeps
                // a cancelled concurrent future cancelled. The value is dropped here.
                let result = if this.signal.is_requested() { Err(JobError::Cancelled) } else { Ok(v) };
                this.finish(result);
                Poll::Ready(())
            }
            Err(payload) => {
                let msg = panic_message(&*payload);
                this.report("exception in task", &*payload);
                this.finish(Err(JobError::Panicked(msg)));
                Poll::Ready(())
            }
        }
    }
}

impl<F: Future, S: Sink<F::Output>> Drop for TaskFuture<F, S> {
    fn drop(&mut self) {
        // Dropped unfinished: either a cancel request raced with close, or the loop closed.
        if let Some(sink) = self.sink.take() {
            let cancelled = self.signal.is_requested();
            // Drop the user's future before reporting, so "cancelled" means "really stopped".
            self.drop_future();
            if cancelled {
                sink.done(Err(JobError::Cancelled));
            } else {
                sink.closed();
            }
        }
    }
}

/// Schedules a task's runnable: onto the running loop's ready queue when woken on that loop's
/// thread, else through the inbox.
///
/// On a closed loop (a task woken on another thread at the instant of closing, after `close` dropped
/// its handle) the runnable still holds the future, which may only be dropped on the loop's thread:
/// here if this is that thread, else when the loop is dropped there (`Shared::keep_stray`).
fn schedule(shared: &Arc<Shared>, runnable: Runnable<u64>) {
    let runnable = match super::push_local_runnable(shared.id, runnable) {
        Ok(()) => return,
        Err(r) => r,
    };
    if let Err(Inbound::Run(r)) = shared.push(Inbound::Run(runnable)) {
        // Closed: a task woken as the loop closed; its future may be dropped on the loop's thread only.
        if super::loop_lives_on_this_thread(shared.id) {
            drop(r);
        } else {
            shared.keep_stray(r);
        }
    }
}

/// Spawns `fut` on `lp`, its outcome going to `sink`.
fn spawn_with_sink<F, S>(
    lp: &EventLoop,
    fut: F,
    sink: S,
    signal: Arc<CancelSignal>,
    location: &'static Location<'static>,
) where
    F: Future + 'static,
    S: Sink<F::Output> + 'static,
{
    if lp.is_closed() {
        drop(fut);
        sink.closed();
        return;
    }
    let inner = &lp.inner;
    let id = inner.next_task_id.get();
    inner.next_task_id.set(id + 1);
    let entry_signal = signal.clone();
    let wrapped =
        TaskFuture { fut: Some(fut), sink: Some(sink), signal, id, lp: Rc::downgrade(inner), location };
    let shared = inner.shared.clone();
    let (runnable, handle) =
        async_task::Builder::new().metadata(id).spawn_local(move |_| wrapped, move |r| schedule(&shared, r));
    inner.tasks.borrow_mut().insert(id, TaskEntry { handle, location, signal: entry_signal });
    // The first step goes straight onto the ready queue, as asyncio's `create_task` does with
    // `call_soon`: `schedule` would route it through the inbox while the loop is not running, and
    // the task would then run after callbacks scheduled after it.
    inner.push_ready(super::Ready::Task(runnable));
}

/// Runs on the loop thread for `LoopHandle::spawn_threadsafe_with`.
pub(crate) fn spawn_for_promise<M, F>(
    make: M,
    promise: Promise<F::Output>,
    signal: Arc<CancelSignal>,
    location: &'static Location<'static>,
) where
    M: FnOnce() -> F,
    F: Future + 'static,
    F::Output: Send + 'static,
{
    let Some(lp) = super::try_get_running_loop() else {
        promise.complete(Err(JobError::LoopClosed));
        return;
    };
    match catch_unwind(AssertUnwindSafe(make)) {
        Ok(fut) => spawn_with_sink(&lp, fut, promise, signal, location),
        Err(payload) => {
            let msg = panic_message(&*payload);
            lp.report_panic("spawn_threadsafe: building the future panicked", &*payload, Some(location));
            promise.complete(Err(JobError::Panicked(msg)));
        }
    }
}

/// A future running on an [`EventLoop`], spawned with [`EventLoop::spawn`].
///
/// The task runs whether or not this handle is awaited; dropping the handle detaches it. Awaiting it
/// gives `Ok(output)`, or a [`JobError`] (the error of every job, pool or loop) when it was cancelled
/// (`Cancelled`, also when its loop closed first) or panicked (`Panicked`). Awaited where its loop cannot run
/// (under another loop, or another executor's `block_on` on its thread), an unfinished task gives
/// `Err(JobError::WouldDeadlock)` at once instead of hanging; polled again after it gave its output,
/// `Err(JobError::ResultTaken)`, as [`ConcurrentFuture`](crate::ConcurrentFuture) does.
///
/// # Examples
///
/// ```
/// tulip::run(async {
///     let lp = tulip::get_running_loop();
///     let task = lp.spawn(async { 1 + 2 });
///     assert_eq!(task.await, Ok(3));
/// });
/// ```
#[must_use = "a dropped Task is detached: it runs on, but its output is lost"]
pub struct Task<T> {
    slot: Rc<Slot<T>>,
    signal: Arc<CancelSignal>,
    /// The id of the loop that runs the task: only a poll under that loop can wait for it.
    loop_id: u64,
}

impl<T> Task<T> {
    /// Requests cancellation: the task's future is dropped at its next turn, and awaiting the task
    /// gives `Err(JobError::Cancelled)`. Returns `false` if the task had already finished.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let lp = tulip::get_running_loop();
    ///     let task = lp.spawn(std::future::pending::<()>());
    ///     assert!(task.cancel());
    ///     assert!(task.await.is_err());
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        if self.slot.finished.get() {
            return false;
        }
        self.signal.cancel()
    }

    /// Whether the task has finished (with a value, a panic, or by cancellation).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let task = tulip::get_running_loop().spawn(async {});
    ///     assert!(!task.is_done());
    ///     tulip::sleep(std::time::Duration::from_millis(1)).await;
    ///     assert!(task.is_done());
    /// });
    /// ```
    pub fn is_done(&self) -> bool {
        self.slot.finished.get()
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, JobError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let taken = self.slot.result.borrow_mut().take();
        if let Some(r) = taken {
            return Poll::Ready(r);
        }
        if self.slot.finished.get() {
            return Poll::Ready(Err(JobError::ResultTaken));
        }
        // `!Send`: its loop lives on this thread, and cannot run under anything but itself.
        if super::running_loop_id() != Some(self.loop_id) {
            return Poll::Ready(Err(JobError::WouldDeadlock));
        }
        *self.slot.joiner.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task").field("done", &self.is_done()).finish()
    }
}

impl EventLoop {
    /// Spawns `fut` as a task on this loop (asyncio's `create_task`).
    ///
    /// The future need not be `Send`: it runs on this loop's thread. The task runs even if the
    /// returned [`Task`] is dropped. A panic in it goes to the exception handler and makes awaiting
    /// it return `Err(JobError::Panicked)`. On a closed loop the task is cancelled at once. With the
    /// `tracing` feature, the task runs in the span current here.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let shared = Rc::new(5); // !Send is fine
    /// let task = lp.spawn(async move { *shared * 2 });
    /// assert_eq!(lp.run_until_complete(task).unwrap(), Ok(10));
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        let slot = Rc::new(Slot {
            result: RefCell::new(None),
            finished: Cell::new(false),
            joiner: RefCell::new(None),
        });
        let signal = Arc::new(CancelSignal::default());
        #[cfg(feature = "tracing")]
        let fut = tracing::Instrument::in_current_span(fut);
        spawn_with_sink(self, fut, slot.clone(), signal.clone(), Location::caller());
        Task { slot, signal, loop_id: self.inner.shared.id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct SetOnDrop(Arc<AtomicBool>);

    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// Reached only through a race (a foreign wake whose push loses to `close`), so the state it
    /// leaves is built by hand: a task scheduled (its runnable out) whose handle `close` dropped.
    #[test]
    fn a_task_woken_elsewhere_as_the_loop_closes_is_dropped_on_the_loop_thread() {
        let lp = EventLoop::new().unwrap();
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(dropped.clone());
        let fut = async move {
            let _guard = guard;
            std::future::pending::<()>().await
        };
        let (runnable, handle) = async_task::Builder::new().metadata(0).spawn_local(move |_| fut, |_| {});
        drop(handle);
        lp.close().unwrap();
        let shared = lp.inner.shared.clone();
        std::thread::spawn(move || schedule(&shared, runnable)).join().unwrap();
        assert!(!dropped.load(Ordering::SeqCst), "dropped off the loop's thread");
        drop(lp);
        assert!(dropped.load(Ordering::SeqCst), "the task's future was never dropped");
    }
}
